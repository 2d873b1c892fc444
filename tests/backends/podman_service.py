"""Podman API service on a private socket, with all state under $OPENSHELL_TEST_ROOT/podman.

Usage: ``python -m tests.backends.podman_service start|stop|status``.

The service serves both the Docker-compatible API and the libpod API. It runs
in private mount and network namespaces (see ``namespaces``), because Podman
4.3 gives containers created through the Docker-compatible API a bridge network
by default, which adds a bridge, veth pairs, firewall rules and ip_forward=1.
Containers therefore cannot be reached from the host's network namespace.
"""

import logging
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.backends import cli
from tests.backends.cleanup import remove_files, remove_leftovers, startup_error
from tests.backends.namespaces import in_private_namespaces
from tests.backends.paths import backend_dir, check_socket_path, find_program
from tests.backends.processes import (
    is_running,
    running_pid,
    spawn_daemon,
    terminate,
)
from tests.backends.unix_http import answers_ping, request_json, wait_for_ping

logger = logging.getLogger(__name__)

NAME = "podman"
API_PREFIX = "/v4.0.0/libpod"
START_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class PodmanPaths:
    directory: Path

    @property
    def socket(self) -> Path:
        return self.directory / "podman.sock"

    @property
    def pidfile(self) -> Path:
        return self.directory / "podman.pid"

    @property
    def log(self) -> Path:
        return self.directory / "podman.log"

    @property
    def containers_conf(self) -> Path:
        return self.directory / "containers.conf"

    @property
    def storage_conf(self) -> Path:
        return self.directory / "storage.conf"

    @property
    def registries_conf(self) -> Path:
        return self.directory / "registries.conf"

    @property
    def storage(self) -> Path:
        return self.directory / "storage"

    @property
    def tmp(self) -> Path:
        return self.directory / "tmp"


def podman_paths() -> PodmanPaths:
    return PodmanPaths(backend_dir(NAME))


def settings(paths: PodmanPaths, pid: int) -> dict[str, str]:
    return {
        # CONTAINER_HOST makes the podman command line use this service.
        "CONTAINER_HOST": f"unix://{paths.socket}",
        "PODMAN_SOCKET": str(paths.socket),
        "PODMAN_PID": str(pid),
        "PODMAN_LOG": str(paths.log),
        "PODMAN_ROOT": str(paths.directory),
    }


def status() -> dict[str, str] | None:
    """Return the settings of the running service, or None if it is not running."""
    paths = podman_paths()
    pid = running_pid(paths.pidfile, paths.directory)
    if pid is None or not answers_ping(paths.socket):
        return None
    return settings(paths, pid)


def write_configs(paths: PodmanPaths) -> None:
    """Write the configuration files that keep Podman's state under ``paths``."""
    # crun failed on the hybrid cgroup layout of the test machines, so runc runs
    # the containers. The default ulimits need CAP_SYS_RESOURCE, which the test
    # machines do not grant. lock_type "file" keeps the locks out of /dev/shm.
    paths.containers_conf.write_text(
        f"""[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "{paths.tmp}/events.log"
tmp_dir = "{paths.tmp}"
lock_type = "file"
volume_path = "{paths.storage}/volumes"
static_dir = "{paths.storage}/libpod"

[network]
network_config_dir = "{paths.directory}/networks"
"""
    )
    paths.storage_conf.write_text(
        f"""[storage]
driver = "overlay"
graphroot = "{paths.storage}"
runroot = "{paths.directory}/run"
"""
    )
    # No registry is reachable, so short names get no search registries.
    paths.registries_conf.write_text(
        'unqualified-search-registries = []\nshort-name-mode = "disabled"\n'
    )


def podman_environment(paths: PodmanPaths) -> dict[str, str]:
    """Return the environment that points Podman at the files of ``paths`` only."""
    environment = dict(os.environ)
    environment.pop("CONTAINER_HOST", None)
    environment["CONTAINERS_CONF"] = str(paths.containers_conf)
    environment["CONTAINERS_STORAGE_CONF"] = str(paths.storage_conf)
    environment["CONTAINERS_REGISTRIES_CONF"] = str(paths.registries_conf)
    return environment


def start() -> dict[str, str]:
    """Start the Podman service unless it runs already; return its settings."""
    running = status()
    if running is not None:
        return running
    paths = podman_paths()
    check_socket_path(paths.socket)
    paths.directory.mkdir(parents=True, exist_ok=True)
    remove_leftovers(paths.directory)
    remove_files(paths.socket, paths.pidfile)
    write_configs(paths)

    service = [
        find_program("podman"),
        "system",
        "service",
        "--time=0",
        f"unix://{paths.socket}",
    ]
    command = in_private_namespaces(service, network=True)
    logger.info("starting podman service, log in %s", paths.log)
    pid = spawn_daemon(command, paths.log, podman_environment(paths))
    paths.pidfile.write_text(f"{pid}\n")
    if not wait_for_ping(paths.socket, START_TIMEOUT_SECONDS, lambda: is_running(pid)):
        raise startup_error("podman", pid, paths.socket, paths.log, paths.directory)
    logger.info("podman service %d is ready on %s", pid, paths.socket)
    return settings(paths, pid)


def stop_containers(socket: Path) -> None:
    """Stop every running container without a grace period.

    Stopping a container also tears down its network.
    """
    code, containers = request_json(
        socket, "GET", f"{API_PREFIX}/containers/json?all=true"
    )
    if code != 200:
        logger.warning("listing containers failed with HTTP %d", code)
        return
    for container in containers:
        if container["State"] != "running":
            continue
        code, body = request_json(
            socket, "POST", f"{API_PREFIX}/containers/{container['Id']}/stop?timeout=0"
        )
        if code not in (204, 304, 404):
            logger.warning(
                "stopping container %s failed with HTTP %d: %s",
                container["Id"][:12],
                code,
                body,
            )


def stop() -> None:
    """Stop the service, its containers and its monitors; keep the storage."""
    paths = podman_paths()
    pid = running_pid(paths.pidfile, paths.directory)
    if pid is not None:
        if answers_ping(paths.socket):
            stop_containers(paths.socket)
        logger.info("stopping podman service %d", pid)
        terminate({pid}, signal.SIGTERM, grace=STOP_TIMEOUT_SECONDS)
    remove_leftovers(paths.directory)
    remove_files(paths.socket, paths.pidfile)


COMMANDS = cli.BackendCommands(NAME, start, stop, status)

if __name__ == "__main__":
    sys.exit(cli.main(COMMANDS))

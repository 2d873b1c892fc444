"""Docker Engine on a private socket, with all state under $OPENSHELL_TEST_ROOT/docker.

Usage: ``python -m tests.backends.docker_engine start|stop|status``.

dockerd runs without the docker0 bridge, iptables rules or ip_forward changes,
and starts its own containerd. It runs in private mount and network namespaces
(see ``namespaces``), because a bridge network that a client creates through the
API would otherwise stay on the host after dockerd stops. Containers therefore
cannot be reached from the host's network namespace.
"""

import hashlib
import json
import logging
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.backends import cli
from tests.backends.cgroups import remove_cgroup
from tests.backends.cleanup import remove_files, remove_leftovers, startup_error
from tests.backends.namespaces import in_private_namespaces
from tests.backends.paths import (
    backend_dir,
    check_socket_path,
    find_program,
)
from tests.backends.processes import (
    is_running,
    running_pid,
    spawn_daemon,
    terminate,
)
from tests.backends.unix_http import answers_ping, request_json, wait_for_ping

logger = logging.getLogger(__name__)

NAME = "docker"
START_TIMEOUT_SECONDS = 30.0
# Longer than the shutdown-timeout (5 s, set in daemon.json) that dockerd gives
# running containers after SIGTERM.
STOP_TIMEOUT_SECONDS = 20.0


@dataclass(frozen=True)
class DockerPaths:
    directory: Path

    @property
    def socket(self) -> Path:
        return self.directory / "docker.sock"

    @property
    def data_root(self) -> Path:
        return self.directory / "data"

    @property
    def exec_root(self) -> Path:
        return self.directory / "exec"

    @property
    def pidfile(self) -> Path:
        return self.directory / "dockerd.pid"

    @property
    def log(self) -> Path:
        return self.directory / "dockerd.log"

    @property
    def config(self) -> Path:
        return self.directory / "daemon.json"

    @property
    def cgroup_parent(self) -> str:
        """Cgroup that contains this engine's containers, unique per directory."""
        digest = hashlib.sha256(str(self.directory).encode()).hexdigest()[:12]
        return f"openshell-test-docker-{digest}"


def docker_paths() -> DockerPaths:
    return DockerPaths(backend_dir(NAME))


def settings(paths: DockerPaths, pid: int) -> dict[str, str]:
    return {
        "DOCKER_HOST": f"unix://{paths.socket}",
        "DOCKER_SOCKET": str(paths.socket),
        "DOCKER_PID": str(pid),
        "DOCKER_LOG": str(paths.log),
        "DOCKER_ROOT": str(paths.directory),
    }


def status() -> dict[str, str] | None:
    """Return the settings of the running engine, or None if it is not running."""
    paths = docker_paths()
    pid = running_pid(paths.pidfile, paths.directory)
    if pid is None or not answers_ping(paths.socket):
        return None
    return settings(paths, pid)


def write_config(paths: DockerPaths) -> None:
    config = {
        # Keeps the engine's trust key out of /etc/docker.
        "deprecated-key-path": str(paths.directory / "key.json"),
        "cgroup-parent": f"/{paths.cgroup_parent}",
        "shutdown-timeout": 5,
    }
    paths.config.write_text(json.dumps(config, indent=2) + "\n")


def dockerd_command(paths: DockerPaths) -> list[str]:
    return [
        find_program("dockerd"),
        f"--host=unix://{paths.socket}",
        f"--data-root={paths.data_root}",
        f"--exec-root={paths.exec_root}",
        f"--pidfile={paths.pidfile}",
        f"--config-file={paths.config}",
        "--bridge=none",
        "--iptables=false",
        "--ip6tables=false",
        "--ip-forward=false",
        "--userland-proxy=false",
    ]


def start() -> dict[str, str]:
    """Start dockerd unless it runs already; return its settings."""
    running = status()
    if running is not None:
        return running
    paths = docker_paths()
    check_socket_path(paths.socket)
    paths.directory.mkdir(parents=True, exist_ok=True)
    remove_leftovers(paths.directory)
    remove_files(paths.socket, paths.pidfile)
    write_config(paths)

    command = in_private_namespaces(dockerd_command(paths), network=True)
    logger.info("starting dockerd, log in %s", paths.log)
    pid = spawn_daemon(command, paths.log)
    if not wait_for_ping(paths.socket, START_TIMEOUT_SECONDS, lambda: is_running(pid)):
        raise startup_error("dockerd", pid, paths.socket, paths.log, paths.directory)
    logger.info("dockerd %d is ready on %s", pid, paths.socket)
    return settings(paths, pid)


def kill_containers(socket: Path) -> None:
    """Kill all running containers, so that dockerd need not wait for them."""
    status_code, containers = request_json(socket, "GET", "/containers/json")
    if status_code != 200:
        logger.warning("listing containers failed with HTTP %d", status_code)
        return
    for container in containers:
        code, body = request_json(socket, "POST", f"/containers/{container['Id']}/kill")
        if code not in (204, 404, 409):
            logger.warning(
                "killing container %s failed with HTTP %d: %s",
                container["Id"][:12],
                code,
                body,
            )


def stop() -> None:
    """Stop dockerd, its containerd and all containers; keep the data for a restart."""
    paths = docker_paths()
    pid = running_pid(paths.pidfile, paths.directory)
    if pid is not None:
        if answers_ping(paths.socket):
            kill_containers(paths.socket)
        logger.info("stopping dockerd %d", pid)
        terminate({pid}, signal.SIGTERM, grace=STOP_TIMEOUT_SECONDS)
    remove_leftovers(paths.directory)
    remove_files(paths.socket, paths.pidfile)
    remove_cgroup(paths.cgroup_parent)


COMMANDS = cli.BackendCommands(NAME, start, stop, status)

if __name__ == "__main__":
    sys.exit(cli.main(COMMANDS))

"""PostgreSQL server on 127.0.0.1, with all state under $OPENSHELL_TEST_ROOT/postgres.

Usage: ``python -m tests.backends.postgres_server start|stop|status``.

PostgreSQL refuses to run as root, so initdb and the server run as the
``postgres`` system user in a directory that user owns. The first start creates
the cluster with a newly generated password; later starts reuse it and pick a
free port.
"""

import glob
import logging
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.backends import cli
from tests.backends.cleanup import remove_files, remove_leftovers
from tests.backends.paths import BackendError, backend_dir, tail
from tests.backends.processes import running_pid, terminate

logger = logging.getLogger(__name__)

NAME = "postgres"
SERVICE_USER = "postgres"
DATABASE_USER = "openshell"
DATABASE = "openshell"
HOST = "127.0.0.1"
BIN_DIR_ENV = "OPENSHELL_PG_BIN_DIR"
START_TIMEOUT_SECONDS = 30
# Fast shutdown (SIGINT) rolls back open transactions and disconnects clients.
STOP_TIMEOUT_SECONDS = 30.0
# Attempts at picking a free port, which another process may take meanwhile.
PORT_ATTEMPTS = 3


@dataclass(frozen=True)
class PostgresPaths:
    directory: Path

    @property
    def data(self) -> Path:
        return self.directory / "data"

    @property
    def password_file(self) -> Path:
        return self.directory / "password"

    @property
    def port_file(self) -> Path:
        return self.directory / "port"

    @property
    def database_marker(self) -> Path:
        return self.directory / "database-created"

    @property
    def log(self) -> Path:
        return self.directory / "postgres.log"

    @property
    def pidfile(self) -> Path:
        return self.data / "postmaster.pid"


def postgres_paths() -> PostgresPaths:
    return PostgresPaths(backend_dir(NAME))


def bin_dir() -> Path:
    """Return the directory of the PostgreSQL server programs.

    OPENSHELL_PG_BIN_DIR overrides the newest /usr/lib/postgresql/*/bin.
    """
    override = os.environ.get(BIN_DIR_ENV)
    if override:
        return Path(override)
    candidates = glob.glob("/usr/lib/postgresql/*/bin/postgres")
    if not candidates:
        raise BackendError(
            "PostgreSQL server programs not found under /usr/lib/postgresql: run "
            f"scripts/install-system-deps or set {BIN_DIR_ENV}"
        )
    newest = max(candidates, key=lambda path: int(Path(path).parts[-3]))
    return Path(newest).parent


def settings(paths: PostgresPaths, pid: int) -> dict[str, str]:
    password = paths.password_file.read_text().strip()
    port = paths.port_file.read_text().strip()
    return {
        "POSTGRES_URL": (
            f"postgresql://{DATABASE_USER}:{password}@{HOST}:{port}/{DATABASE}"
        ),
        # The libpq variables let psql and other clients connect without flags.
        "PGHOST": HOST,
        "PGPORT": port,
        "PGUSER": DATABASE_USER,
        "PGPASSWORD": password,
        "PGDATABASE": DATABASE,
        "POSTGRES_PID": str(pid),
        "POSTGRES_LOG": str(paths.log),
        "POSTGRES_DATA": str(paths.data),
    }


def status() -> dict[str, str] | None:
    """Return the settings of the running server, or None if it is not running."""
    paths = postgres_paths()
    pid = running_pid(paths.pidfile, paths.directory)
    if pid is None or not paths.port_file.exists():
        return None
    return settings(paths, pid)


def run_as_service_user(
    command: list[str], environment: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        user=SERVICE_USER,
        group=SERVICE_USER,
        extra_groups=[],
        cwd="/",
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def chown_to_service_user(path: Path) -> None:
    account = pwd.getpwnam(SERVICE_USER)
    os.chown(path, account.pw_uid, account.pw_gid)


def check_reachable(directory: Path) -> None:
    """Raise BackendError unless the service user can enter every parent directory."""
    account = pwd.getpwnam(SERVICE_USER)
    for parent in directory.parents:
        mode = parent.stat()
        searchable_by_owner = mode.st_uid == account.pw_uid and mode.st_mode & 0o100
        if not (mode.st_mode & 0o001 or searchable_by_owner):
            raise BackendError(
                f"user {SERVICE_USER} cannot enter {parent} (mode "
                f"{mode.st_mode & 0o7777:o}): run chmod o+x {parent} or choose "
                "another root"
            )


def initialise_cluster(paths: PostgresPaths) -> None:
    """Create the cluster with a new password, replacing any half-made one."""
    shutil.rmtree(paths.data, ignore_errors=True)
    remove_files(paths.database_marker)
    paths.password_file.write_text(secrets.token_hex(16))
    paths.password_file.chmod(0o600)
    chown_to_service_user(paths.password_file)
    logger.info("creating cluster in %s", paths.data)
    result = run_as_service_user(
        [
            str(bin_dir() / "initdb"),
            f"--pgdata={paths.data}",
            f"--username={DATABASE_USER}",
            f"--pwfile={paths.password_file}",
            "--auth=scram-sha-256",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            # A test cluster need not survive a power loss.
            "--no-sync",
        ]
    )
    if result.returncode != 0:
        raise BackendError(f"initdb failed:\n{result.stdout}{result.stderr}")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def start_server(paths: PostgresPaths) -> None:
    """Start the postmaster on a free port and wait until it accepts connections."""
    for attempt in range(1, PORT_ATTEMPTS + 1):
        port = free_port()
        options = (
            f"-p {port} -c listen_addresses={HOST} "
            f"-c unix_socket_directories={paths.directory}"
        )
        result = run_as_service_user(
            [
                str(bin_dir() / "pg_ctl"),
                f"--pgdata={paths.data}",
                f"--log={paths.log}",
                f"--options={options}",
                f"--timeout={START_TIMEOUT_SECONDS}",
                "--wait",
                "start",
            ]
        )
        if result.returncode == 0:
            paths.port_file.write_text(f"{port}\n")
            return
        if "Address already in use" in tail(paths.log, 10) and attempt < PORT_ATTEMPTS:
            logger.warning("port %d was taken, retrying with another", port)
            continue
        raise BackendError(
            f"pg_ctl start failed:\n{result.stdout}{result.stderr}"
            f"end of {paths.log}:\n{tail(paths.log)}"
        )


def create_database(paths: PostgresPaths) -> None:
    environment = dict(os.environ)
    environment["PGPASSWORD"] = paths.password_file.read_text().strip()
    result = run_as_service_user(
        [
            str(bin_dir() / "createdb"),
            f"--host={HOST}",
            f"--port={paths.port_file.read_text().strip()}",
            f"--username={DATABASE_USER}",
            DATABASE,
        ],
        environment,
    )
    if result.returncode != 0:
        raise BackendError(f"createdb {DATABASE} failed:\n{result.stderr}")
    paths.database_marker.touch()


def start() -> dict[str, str]:
    """Start the server unless it runs already; return its settings."""
    running = status()
    if running is not None:
        return running
    paths = postgres_paths()
    paths.directory.mkdir(parents=True, exist_ok=True)
    check_reachable(paths.directory)
    chown_to_service_user(paths.directory)
    remove_leftovers(paths.directory)
    remove_files(paths.port_file)
    if not (paths.data / "PG_VERSION").exists():
        initialise_cluster(paths)
    logger.info("starting postgres, log in %s", paths.log)
    start_server(paths)
    if not paths.database_marker.exists():
        create_database(paths)
    pid = running_pid(paths.pidfile, paths.directory)
    if pid is None:
        raise BackendError(
            f"postgres exited right after starting; end of {paths.log}:\n"
            f"{tail(paths.log)}"
        )
    logger.info(
        "postgres %d is ready on %s:%s", pid, HOST, paths.port_file.read_text().strip()
    )
    return settings(paths, pid)


def stop() -> None:
    """Stop the server with a fast shutdown; keep the cluster for a restart."""
    paths = postgres_paths()
    pid = running_pid(paths.pidfile, paths.directory)
    if pid is not None:
        logger.info("stopping postgres %d", pid)
        terminate({pid}, signal.SIGINT, grace=STOP_TIMEOUT_SECONDS)
    remove_leftovers(paths.directory)
    remove_files(paths.port_file)


COMMANDS = cli.BackendCommands(NAME, start, stop, status)

if __name__ == "__main__":
    sys.exit(cli.main(COMMANDS))

"""Pytest plugin with session fixtures for the real backends of the driver tests.

Load it from tests/conftest.py with ``pytest_plugins = ["tests.backends.fixtures"]``.

Each backend starts once per run through ``python -m tests.backends.<module>``
and stops when the run ends. A backend that cannot start fails every test that
uses it, with the end of its log. Unless OPENSHELL_TEST_ROOT is set, all state
lives in a new directory under /tmp that is deleted at the end of the run.

Each fixture starts its backend cold, stops it and starts it again warm, so the
terminal summary shows both times and every run checks that a restart works.
"""

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest
from docker.errors import DockerException

from tests.backends import images
from tests.backends.images import SandboxImage, build_sandbox_image
from tests.backends.launcher import BackendLauncher
from tests.backends.mounts import mounts_under
from tests.backends.paths import ROOT_ENV, BackendError
from tests.backends.rootfs import BUSYBOX
from tests.backends.timings import Kind, TimingLog

# Kept short because Unix socket paths under it must stay within 107 bytes.
RUN_ROOT_PREFIX = "osh-"

timing_log_key = pytest.StashKey[TimingLog]()

Target = TypeVar("Target", str, Path)


@dataclass(frozen=True)
class ContainerEngine:
    """A running Docker Engine or Podman service with the sandbox image loaded."""

    socket: Path
    url: str
    image: str
    pid: int


@dataclass(frozen=True)
class PostgresServer:
    """A running PostgreSQL server and the credentials of its test database."""

    url: str
    host: str
    port: int
    user: str
    password: str
    database: str
    pid: int


def pytest_configure(config: pytest.Config) -> None:
    config.stash[timing_log_key] = TimingLog()


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    timing_log = config.stash.get(timing_log_key, None)
    if timing_log is None or not timing_log.entries:
        return
    terminalreporter.section("backend start times")
    for line in timing_log.format_table():
        terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def timing_log(pytestconfig: pytest.Config) -> TimingLog:
    return pytestconfig.stash[timing_log_key]


@pytest.fixture(scope="session")
def backend_launcher() -> Iterator[BackendLauncher]:
    """Launcher for all backends of the run, under one root directory."""
    configured = os.environ.get(ROOT_ENV)
    if configured:
        yield BackendLauncher(Path(configured))
        return
    root = Path(tempfile.mkdtemp(prefix=RUN_ROOT_PREFIX, dir="/tmp"))
    # PostgreSQL runs as the postgres user, which must be able to enter the root.
    root.chmod(0o755)
    yield BackendLauncher(root)
    # The backend fixtures have stopped their backends by now.
    remaining_mounts = mounts_under(root)
    if remaining_mounts:
        pytest.fail(
            f"mounts left under {root}, not deleting it: {remaining_mounts}",
            pytrace=False,
        )
    shutil.rmtree(root)


@dataclass(frozen=True)
class Launch:
    """Settings of a started backend, and whether this run owns (and stops) it."""

    module: str
    name: str
    settings: dict[str, str]
    owned: bool


def start_cold_then_warm(
    launcher: BackendLauncher,
    timing_log: TimingLog,
    module: str,
    name: str,
    pid_key: str,
) -> Launch:
    """Start a backend, restart it, and record both start times.

    A backend that already ran before the session is used as it is, not timed,
    and not stopped at the end.
    """
    if launcher.status(module) is not None:
        return Launch(module, name, launcher.start(module, name, pid_key), False)
    kind: Kind = "warm" if launcher.directory(name).exists() else "cold"
    try:
        with timing_log.measure(f"{name} start", kind):
            launcher.start(module, name, pid_key)
        launcher.stop(module, name)
        with timing_log.measure(f"{name} start", "warm"):
            settings = launcher.start(module, name, pid_key)
    except BaseException:
        launcher.stop(module, name)
        raise
    return Launch(module, name, settings, True)


def stop_and_check(launcher: BackendLauncher, launch: Launch) -> None:
    """Stop a backend that this run started and fail on processes it left."""
    if not launch.owned:
        return
    launcher.stop(launch.module, launch.name)
    leftovers = launcher.leftover_processes(launch.name)
    assert not leftovers, f"{launch.name} left processes running: {leftovers}"


@pytest.fixture(scope="session")
def sandbox_oci_image(timing_log: TimingLog) -> SandboxImage:
    """The busybox sandbox image: root file system tar, OCI layout and OCI archive."""
    cached = (images.cache_root() / images.cache_key(BUSYBOX)).is_dir()
    with timing_log.measure("sandbox image build", "warm" if cached else "cold"):
        return build_sandbox_image()


@pytest.fixture(scope="session")
def docker_engine(
    backend_launcher: BackendLauncher,
    timing_log: TimingLog,
    sandbox_oci_image: SandboxImage,
) -> Iterator[ContainerEngine]:
    """Docker Engine with the sandbox image imported as openshell-test/busybox:latest."""
    launch = start_cold_then_warm(
        backend_launcher, timing_log, "docker_engine", "docker", "DOCKER_PID"
    )
    try:
        url = launch.settings["DOCKER_HOST"]
        with timing_log.measure("docker image import", "cold"):
            image = load_image(images.import_into_docker, url, sandbox_oci_image)
        yield ContainerEngine(
            socket=Path(launch.settings["DOCKER_SOCKET"]),
            url=url,
            image=image,
            pid=int(launch.settings["DOCKER_PID"]),
        )
    finally:
        stop_and_check(backend_launcher, launch)


@pytest.fixture(scope="session")
def podman_service(
    backend_launcher: BackendLauncher,
    timing_log: TimingLog,
    sandbox_oci_image: SandboxImage,
) -> Iterator[ContainerEngine]:
    """Podman service with the sandbox image imported as
    localhost/openshell-test/busybox:latest."""
    launch = start_cold_then_warm(
        backend_launcher, timing_log, "podman_service", "podman", "PODMAN_PID"
    )
    try:
        socket = Path(launch.settings["PODMAN_SOCKET"])
        with timing_log.measure("podman image import", "cold"):
            image = load_image(images.import_into_podman, socket, sandbox_oci_image)
        yield ContainerEngine(
            socket=socket,
            url=launch.settings["CONTAINER_HOST"],
            image=image,
            pid=int(launch.settings["PODMAN_PID"]),
        )
    finally:
        stop_and_check(backend_launcher, launch)


@pytest.fixture(scope="session")
def postgres_server(
    backend_launcher: BackendLauncher, timing_log: TimingLog
) -> Iterator[PostgresServer]:
    """PostgreSQL server with a database, a user and a password made for this run."""
    launch = start_cold_then_warm(
        backend_launcher, timing_log, "postgres_server", "postgres", "POSTGRES_PID"
    )
    settings = launch.settings
    try:
        yield PostgresServer(
            url=settings["POSTGRES_URL"],
            host=settings["PGHOST"],
            port=int(settings["PGPORT"]),
            user=settings["PGUSER"],
            password=settings["PGPASSWORD"],
            database=settings["PGDATABASE"],
            pid=int(settings["POSTGRES_PID"]),
        )
    finally:
        stop_and_check(backend_launcher, launch)


def load_image(
    importer: Callable[[Target, SandboxImage], str],
    target: Target,
    image: SandboxImage,
) -> str:
    """Run ``importer`` and turn its errors into a failure of the run."""
    try:
        return importer(target, image)
    except (BackendError, DockerException, OSError) as error:
        pytest.fail(f"importing the sandbox image failed: {error}", pytrace=False)

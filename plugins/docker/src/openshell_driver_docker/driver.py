"""The Docker compute driver: sandboxes as containers on one Docker Engine."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from loguru import logger

from openshell.driver import ComputeDriver, require_identifier
from openshell.errors import DriverError
from openshell.proto import compute_driver_pb2 as pb
from openshell_driver_docker.container_spec import build_container_spec, check_sandbox
from openshell_driver_docker.engine import DockerEngine
from openshell_driver_docker.hub import WatchHub
from openshell_driver_docker.monitor import EngineEvent, EngineMonitor
from openshell_driver_docker.naming import SANDBOX_ID_LABEL, label_filter
from openshell_driver_docker.probe import FALLBACK_SOCKET, find_docker_socket
from openshell_driver_docker.provisioning import Provisioner, never_pull_message
from openshell_driver_docker.reporter import Reporter
from openshell_driver_docker.settings import DockerSettings, PullPolicy
from openshell_driver_docker.status import EXITED_STATE, Observation, observe_container

DRIVER_NAME = "docker"
ENGINE_THREADS = 16
"""Threads for blocking engine calls; the event stream has its own thread."""

RESTARTABLE_STATES = frozenset({EXITED_STATE, "created"})
"""Container states that StartSandbox starts; any other state is left alone."""

# Engine actions after which a container is inspected and its snapshot
# published; others (exec, attach, resize, kill, ...) change nothing reported.
WATCHED_ACTIONS = frozenset(
    {
        "create",
        "start",
        "restart",
        "die",
        "stop",
        "pause",
        "unpause",
        "oom",
        "rename",
        "update",
        "health_status",
    }
)

log = logger.bind(driver=DRIVER_NAME)


@dataclass(frozen=True)
class _Backend:
    """The objects that exist once the engine connection is open."""

    engine: DockerEngine
    daemon_version: str
    provisioner: Provisioner
    monitor: EngineMonitor


@dataclass(frozen=True)
class _ContainerRef:
    container_id: str
    sandbox_id: str


class DockerDriver(ComputeDriver):
    """Runs each sandbox as one container that executes the requested command.

    The engine is contacted on first use (`open()`); a failed attempt is
    retried by the next call.
    """

    def __init__(self, settings: DockerSettings) -> None:
        self._settings = settings
        self._executor = ThreadPoolExecutor(
            max_workers=ENGINE_THREADS, thread_name_prefix="openshell-docker"
        )
        self._hub = WatchHub()
        self._reporter = Reporter(self._hub)
        self._backend: _Backend | None = None
        self._open_lock = asyncio.Lock()
        self._closed = False

    @property
    def socket_path(self) -> str | None:
        """The engine socket in use, once open."""
        return self._backend.engine.socket_path if self._backend else None

    async def open(self) -> None:
        """Connect to the engine, prepare the network and follow its events."""
        await self._ready()

    async def get_capabilities(self) -> pb.GetCapabilitiesResponse:
        backend = await self._ready()
        return pb.GetCapabilitiesResponse(
            driver_name=DRIVER_NAME,
            driver_version=backend.daemon_version,
            default_image=self._settings.default_image,
            gateway_manages_lifecycle=True,
        )

    async def validate_sandbox_create(self, sandbox: pb.DriverSandbox) -> None:
        check_sandbox(sandbox)

    async def create_sandbox(self, sandbox: pb.DriverSandbox) -> None:
        backend = await self._ready()
        if not sandbox.id:
            raise DriverError.invalid_argument("sandbox.id is required")
        spec = build_container_spec(sandbox, self._settings)

        never_pull = self._settings.image_pull_policy is PullPolicy.NEVER
        if never_pull and await backend.engine.image_id(spec.image) is None:
            raise DriverError.failed_precondition(never_pull_message(spec.image))
        if backend.provisioner.find(sandbox.id, "") is not None:
            raise DriverError.already_exists()
        if await self._find_container(backend, sandbox.id, "") is not None:
            raise DriverError.already_exists()
        # Checked again because another create may have begun during the lookup.
        if backend.provisioner.find(sandbox.id, "") is not None:
            raise DriverError.already_exists()

        backend.provisioner.begin(sandbox, spec)

    async def get_sandbox(self, sandbox_id: str, sandbox_name: str) -> pb.DriverSandbox:
        require_identifier(sandbox_id, sandbox_name)
        backend = await self._ready()

        ref = await self._find_container(backend, sandbox_id, sandbox_name)
        if ref is not None:
            observation = await self._observe(backend, ref.container_id)
            if observation is not None:
                return observation.sandbox
        entry = backend.provisioner.find(sandbox_id, sandbox_name)
        if entry is not None:
            return entry.snapshot(self._settings.sandbox_namespace)
        raise DriverError.not_found()

    async def list_sandboxes(self) -> list[pb.DriverSandbox]:
        backend = await self._ready()
        observations, pending = await self._current(backend)
        sandboxes = [observation.sandbox for observation in observations] + pending
        return sorted(sandboxes, key=lambda sandbox: sandbox.id)

    async def stop_sandbox(self, sandbox_id: str, sandbox_name: str) -> None:
        require_identifier(sandbox_id, sandbox_name)
        backend = await self._ready()

        # A pending create is cancelled, which removes it for good, as upstream does.
        entry = backend.provisioner.find(sandbox_id, sandbox_name)
        if entry is not None:
            await backend.provisioner.cancel(entry)
            self._reporter.deleted(entry.sandbox.id, always=True)
            return

        ref = await self._find_container(backend, sandbox_id, sandbox_name)
        if ref is None:
            raise DriverError.not_found()
        await backend.engine.stop_container(ref.container_id)
        log.info("sandbox stopped", sandbox_id=ref.sandbox_id)
        await self._publish(backend, ref.container_id)

    async def start_sandbox(self, sandbox_id: str, sandbox_name: str) -> None:
        require_identifier(sandbox_id, sandbox_name)
        backend = await self._ready()

        ref = await self._find_container(backend, sandbox_id, sandbox_name)
        if ref is None:
            if backend.provisioner.find(sandbox_id, sandbox_name) is not None:
                return
            raise DriverError.not_found()
        observation = await self._observe(backend, ref.container_id)
        if observation is None:
            raise DriverError.not_found()
        if observation.state not in RESTARTABLE_STATES:
            return

        self._reporter.exit_replaced(ref.sandbox_id, observation.finished_at)
        await backend.engine.start_container(ref.container_id)
        log.info("sandbox started", sandbox_id=ref.sandbox_id)
        await self._publish(backend, ref.container_id)

    async def delete_sandbox(self, sandbox_id: str, sandbox_name: str) -> bool:
        require_identifier(sandbox_id, sandbox_name)
        backend = await self._ready()
        removed = False
        deleted_id = sandbox_id

        entry = backend.provisioner.find(sandbox_id, sandbox_name)
        if entry is not None:
            await backend.provisioner.cancel(entry)
            removed = True
            deleted_id = entry.sandbox.id

        ref = await self._find_container(backend, sandbox_id, sandbox_name)
        if ref is not None:
            deleted_id = ref.sandbox_id
            self._reporter.container_removed(ref.container_id)
            try:
                removed = (
                    await backend.engine.remove_container(ref.container_id) or removed
                )
            except DriverError:
                self._reporter.container_kept(ref.container_id)
                raise

        if removed:
            self._reporter.deleted(deleted_id, always=True)
            log.info("sandbox deleted", sandbox_id=deleted_id)
        return removed

    async def watch_sandboxes(self) -> AsyncIterator[pb.WatchSandboxesEvent]:
        await self._ready()
        # Subscribe before listing, so no change between the two is lost.
        subscription = self._hub.subscribe()
        try:
            for sandbox in await self.list_sandboxes():
                yield pb.WatchSandboxesEvent(
                    sandbox=pb.WatchSandboxesSandboxEvent(sandbox=sandbox)
                )
            while True:
                event = await subscription.next()
                if event is None:
                    return
                yield event
        finally:
            self._hub.unsubscribe(subscription)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._hub.close()
        backend = self._backend
        if backend is not None:
            await backend.monitor.stop()
            await backend.provisioner.close()
            backend.engine.close()
        self._executor.shutdown(wait=False, cancel_futures=True)
        log.info("docker driver closed")

    async def _ready(self) -> _Backend:
        if self._backend is not None:
            return self._backend
        if self._closed:
            raise DriverError.failed_precondition("docker driver is closed")
        async with self._open_lock:
            if self._backend is None:
                self._backend = await self._connect()
        return self._backend

    async def _connect(self) -> _Backend:
        socket_path = self._settings.socket_path
        if socket_path is None:
            loop = asyncio.get_running_loop()
            found, _ = await loop.run_in_executor(self._executor, find_docker_socket)
            socket_path = found or FALLBACK_SOCKET

        engine = DockerEngine(socket_path, self._executor)
        daemon_version = await engine.connect()
        try:
            await engine.ensure_network(self._settings.network_name)
        except BaseException:
            engine.close()
            raise

        monitor = EngineMonitor(
            engine,
            label_filter(self._settings.sandbox_namespace),
            on_event=self._handle_event,
            on_resync=self._resync,
        )
        backend = _Backend(
            engine=engine,
            daemon_version=daemon_version,
            provisioner=Provisioner(engine, self._settings, self._reporter),
            monitor=monitor,
        )
        monitor.start()
        log.info(
            "connected to docker {} at {}; network {}",
            daemon_version,
            socket_path,
            self._settings.network_name,
        )
        return backend

    async def _find_container(
        self, backend: _Backend, sandbox_id: str, sandbox_name: str
    ) -> _ContainerRef | None:
        """Return the first managed container whose non-empty identifiers all match."""
        summaries = await backend.engine.list_containers(
            label_filter(
                self._settings.sandbox_namespace,
                sandbox_id=sandbox_id,
                sandbox_name=sandbox_name,
            )
        )
        for summary in summaries:
            labels = summary.get("Labels") or {}
            return _ContainerRef(str(summary["Id"]), labels.get(SANDBOX_ID_LABEL, ""))
        return None

    async def _observe(
        self, backend: _Backend, container_id: str
    ) -> Observation | None:
        info = await backend.engine.inspect_container(container_id)
        return observe_container(info) if info is not None else None

    async def _current(
        self, backend: _Backend
    ) -> tuple[list[Observation], list[pb.DriverSandbox]]:
        """Observe every managed container; add pending entries that have none yet."""
        summaries = await backend.engine.list_containers(
            label_filter(self._settings.sandbox_namespace)
        )
        inspected = await asyncio.gather(
            *(self._observe(backend, str(summary["Id"])) for summary in summaries)
        )
        observations = [observation for observation in inspected if observation]
        observed_ids = {observation.sandbox.id for observation in observations}
        pending = [
            sandbox
            for sandbox in backend.provisioner.snapshots()
            if sandbox.id not in observed_ids
        ]
        return observations, pending

    async def _publish(self, backend: _Backend, container_id: str) -> None:
        observation = await self._observe(backend, container_id)
        if observation is not None:
            self._reporter.observation(observation)

    async def _resync(self) -> None:
        backend = self._backend
        if backend is None:
            return
        observations, pending = await self._current(backend)
        self._reporter.resync(observations, pending)

    async def _handle_event(self, event: EngineEvent) -> None:
        """Publish what one engine event changed about a sandbox container."""
        backend = self._backend
        container_id = _event_container_id(event)
        if backend is None or not container_id:
            return
        if self._reporter.is_removed(container_id):
            return
        action = str(event.get("Action") or "").split(":", 1)[0]
        attributes = (event.get("Actor") or {}).get("Attributes") or {}
        sandbox_id = str(attributes.get(SANDBOX_ID_LABEL, ""))

        if action == "destroy":
            self._reporter.deleted(sandbox_id)
            return
        if action not in WATCHED_ACTIONS:
            return
        observation = await self._observe(backend, container_id)
        if observation is None:
            self._reporter.deleted(sandbox_id)
        else:
            self._reporter.observation(observation)


def _event_container_id(event: EngineEvent) -> str:
    actor: dict[str, Any] = event.get("Actor") or {}
    return str(event.get("id") or actor.get("ID") or "")

"""Background creation of sandbox containers, like upstream's Docker driver.

`CreateSandbox` records a pending entry and returns. A task then prepares the
image, creates and starts the container, and reports each step through the
watch streams. A failed entry stays listed with `Ready` = False and the
failure's reason until the sandbox is deleted.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from loguru import logger

from openshell.errors import DriverError
from openshell.proto import compute_driver_pb2 as pb
from openshell_driver_docker.container_spec import ContainerSpec
from openshell_driver_docker.engine import DockerEngine
from openshell_driver_docker.reporter import Reporter
from openshell_driver_docker.settings import DockerSettings, PullPolicy
from openshell_driver_docker.status import (
    STARTING_REASON,
    ReadyCondition,
    observe_container,
    pending_snapshot,
)

IMAGE_PULL_FAILED = "ImagePullFailed"
CONTAINER_CREATE_FAILED = "ContainerCreateFailed"
CONTAINER_START_FAILED = "ContainerStartFailed"

_PROVISIONING = ReadyCondition(
    "False", STARTING_REASON, "Sandbox container is being created"
)

log = logger.bind(driver="docker")


@dataclass
class PendingCreate:
    """A sandbox whose container is not created and started yet, or failed to be."""

    sandbox: pb.DriverSandbox
    spec: ContainerSpec
    # Held while the container is created and started, so a cancelling call
    # can wait until no container is half made.
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    cancelled: bool = False
    failure: ReadyCondition | None = None
    task: asyncio.Task[None] | None = None

    def matches(self, sandbox_id: str, sandbox_name: str) -> bool:
        """Apply the lookup rule: every non-empty identifier must match."""
        if sandbox_id and sandbox_id != self.sandbox.id:
            return False
        return not sandbox_name or sandbox_name == self.sandbox.name

    def snapshot(self, namespace: str) -> pb.DriverSandbox:
        return pending_snapshot(
            self.sandbox,
            namespace=namespace,
            container_name=self.spec.name,
            condition=self.failure or _PROVISIONING,
        )


class Provisioner:
    """Owns the pending entries and the tasks that provision them."""

    def __init__(
        self, engine: DockerEngine, settings: DockerSettings, reporter: Reporter
    ) -> None:
        self._engine = engine
        self._settings = settings
        self._reporter = reporter
        self.pending: dict[str, PendingCreate] = {}

    def find(self, sandbox_id: str, sandbox_name: str) -> PendingCreate | None:
        for entry in self.pending.values():
            if entry.matches(sandbox_id, sandbox_name):
                return entry
        return None

    def snapshots(self) -> list[pb.DriverSandbox]:
        namespace = self._settings.sandbox_namespace
        return [entry.snapshot(namespace) for entry in self.pending.values()]

    def begin(self, sandbox: pb.DriverSandbox, spec: ContainerSpec) -> None:
        """Record the entry, report it scheduled and start provisioning it."""
        entry = PendingCreate(sandbox=sandbox, spec=spec)
        self.pending[sandbox.id] = entry
        self._reporter.platform_event(
            sandbox.id, "Scheduled", f"Creating container {spec.name}"
        )
        self._reporter.snapshot(entry.snapshot(self._settings.sandbox_namespace))
        entry.task = asyncio.get_running_loop().create_task(
            self._provision(entry), name=f"docker-create-{sandbox.id}"
        )
        log.info(
            "sandbox create accepted; container {}", spec.name, sandbox_id=sandbox.id
        )

    async def cancel(self, entry: PendingCreate) -> None:
        """Stop provisioning an entry, remove any container it made and drop it."""
        entry.cancelled = True
        if entry.task is not None and not entry.lock.locked():
            # Outside the locked section the task only prepares the image,
            # which leaves nothing behind when it is cancelled.
            entry.task.cancel()
        async with entry.lock:
            pass
        self.pending.pop(entry.sandbox.id, None)
        log.info("sandbox create cancelled", sandbox_id=entry.sandbox.id)

    async def close(self) -> None:
        tasks = [
            entry.task for entry in self.pending.values() if entry.task is not None
        ]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _provision(self, entry: PendingCreate) -> None:
        try:
            image_id = await self._prepare_image(entry)
        except DriverError as error:
            self._fail(entry, IMAGE_PULL_FAILED, error.message)
            return

        async with entry.lock:
            if entry.cancelled:
                return
            await self._create_and_start(entry, image_id)

    async def _prepare_image(self, entry: PendingCreate) -> str:
        """Return the ID of the image to run, pulling it as the pull policy requires."""
        reference = entry.spec.image
        policy = self._settings.image_pull_policy
        if policy is not PullPolicy.ALWAYS:
            image_id = await self._engine.image_id(reference)
            if image_id is not None:
                return image_id
            if policy is PullPolicy.NEVER:
                raise DriverError.failed_precondition(never_pull_message(reference))

        self._reporter.platform_event(
            entry.sandbox.id, "Pulling", f"Pulling image {reference}"
        )
        await self._engine.pull_image(reference)
        image_id = await self._engine.image_id(reference)
        if image_id is None:
            raise DriverError.internal(
                f"docker image {reference!r} is missing after pull"
            )
        self._reporter.platform_event(
            entry.sandbox.id, "Pulled", f"Pulled image {reference}"
        )
        return image_id

    async def _create_and_start(self, entry: PendingCreate, image_id: str) -> None:
        sandbox_id = entry.sandbox.id
        name = entry.spec.name
        try:
            container_id = await self._engine.create_container(entry.spec, image_id)
        except DriverError as error:
            self._fail(entry, CONTAINER_CREATE_FAILED, error.message)
            return
        self._reporter.platform_event(
            sandbox_id, "Created", f"Created container {name}"
        )

        try:
            if not entry.cancelled:
                await self._engine.start_container(container_id)
        except DriverError as error:
            await self._discard(container_id)
            self._fail(entry, CONTAINER_START_FAILED, error.message)
            return

        # Checking the flag and handing over happen without an await between
        # them, so a cancelling call either finds the entry or finds the container.
        if entry.cancelled:
            await self._discard(container_id)
            return
        del self.pending[sandbox_id]

        self._reporter.platform_event(
            sandbox_id, "Started", f"Started container {name}"
        )
        log.info("sandbox container started: {}", name, sandbox_id=sandbox_id)
        try:
            info = await self._engine.inspect_container(container_id)
        except DriverError as error:
            # The engine's own start event leads to a snapshot as well.
            log.warning(
                "inspecting started container {} failed: {}", name, error.message
            )
            return
        observation = observe_container(info) if info is not None else None
        if observation is not None:
            self._reporter.observation(observation)

    async def _discard(self, container_id: str) -> None:
        self._reporter.container_removed(container_id)
        try:
            await self._engine.remove_container(container_id)
        except DriverError as error:
            log.warning("removing container {} failed: {}", container_id, error.message)

    def _fail(self, entry: PendingCreate, reason: str, message: str) -> None:
        if entry.cancelled:
            return
        entry.failure = ReadyCondition("False", reason, message)
        log.warning(
            "sandbox create failed: {}: {}",
            reason,
            message,
            sandbox_id=entry.sandbox.id,
        )
        self._reporter.platform_event(entry.sandbox.id, reason, message, warning=True)
        self._reporter.snapshot(entry.snapshot(self._settings.sandbox_namespace))


def never_pull_message(reference: str) -> str:
    return (
        f"docker image {reference!r} is not present locally and "
        "image_pull_policy is Never"
    )

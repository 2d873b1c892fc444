"""Async access to one Docker Engine through docker-py's low-level `APIClient`.

docker-py blocks, so every call runs in the driver's thread pool and a slow
engine never stalls the event loop. Engine failures become `DriverError`s
with the contract's codes.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import docker
import docker.errors
from docker.types.daemon import CancellableStream
from loguru import logger

from openshell.errors import DriverError
from openshell_driver_docker.container_spec import ContainerSpec
from openshell_driver_docker.naming import MANAGED_BY_LABEL, MANAGED_BY_VALUE

CLIENT_TIMEOUT_SECONDS = 120
"""HTTP timeout of every engine call except the event stream, as upstream."""

STOP_TIMEOUT_SECONDS = 10
"""Seconds between SIGTERM and SIGKILL when a sandbox stops, fixed as upstream."""

REMOVAL_WAIT_SECONDS = 60
"""How long a delete waits for a removal that another client already began."""

BUILTIN_NETWORKS = frozenset({"none", "host", "bridge"})
"""Networks every engine defines itself; the driver never creates them."""

_HTTP_CONFLICT = 409

T = TypeVar("T")
log = logger.bind(driver="docker")


class EventStream:
    """A live engine event stream on its own connection.

    `close()` may be called from another thread; it ends a running iteration.
    """

    def __init__(
        self, client: docker.APIClient, stream: CancellableStream[dict[str, Any]]
    ) -> None:
        self._client = client
        self._stream = stream

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self._stream)

    def close(self) -> None:
        self._stream.close()
        self._client.close()


class DockerEngine:
    """One engine socket, with a client for calls and one for the event stream."""

    def __init__(self, socket_path: str, executor: ThreadPoolExecutor) -> None:
        self.socket_path = socket_path
        self.base_url = f"unix://{socket_path}"
        self._executor = executor
        self._client: docker.APIClient | None = None

    @property
    def client(self) -> docker.APIClient:
        if self._client is None:
            raise DriverError.internal("docker engine client is not connected")
        return self._client

    async def connect(self) -> str:
        """Open the client, negotiating the API version; return the daemon version."""

        def connect_client() -> tuple[docker.APIClient, str]:
            client = docker.APIClient(
                base_url=self.base_url, version="auto", timeout=CLIENT_TIMEOUT_SECONDS
            )
            version = client.version().get("Version") or "unknown"
            return client, str(version)

        try:
            self._client, daemon_version = await self._run(connect_client)
        except docker.errors.DockerException as error:
            raise DriverError.internal(
                f"connect to Docker at {self.base_url} failed: {error}"
            ) from None
        return daemon_version

    def open_event_stream(self, label_filters: list[str]) -> EventStream:
        """Open the engine's container event stream (blocking, for the monitor)."""
        client = docker.APIClient(
            base_url=self.base_url,
            version=self.client.api_version,
            timeout=CLIENT_TIMEOUT_SECONDS,
        )
        try:
            stream = client.events(
                decode=True, filters={"type": "container", "label": label_filters}
            )
        except BaseException:
            client.close()
            raise
        return EventStream(client, stream)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    async def ensure_network(self, name: str) -> None:
        """Create the sandbox bridge network unless it exists or is built in."""
        if name in BUILTIN_NETWORKS:
            return

        def ensure() -> None:
            try:
                network = self.client.inspect_network(name)
            except docker.errors.NotFound:
                network = None
            if network is not None:
                driver = network.get("Driver")
                if driver != "bridge":
                    raise DriverError.failed_precondition(
                        f"Docker network {name!r} must use the 'bridge' driver, "
                        f"found {driver!r}; set network_name to another network"
                    )
                return
            try:
                self.client.create_network(
                    name,
                    driver="bridge",
                    attachable=True,
                    labels={MANAGED_BY_LABEL: MANAGED_BY_VALUE},
                )
            except docker.errors.APIError as error:
                if error.status_code != _HTTP_CONFLICT:
                    raise
            log.info("created docker network {}", name)

        await self._call(f"ensure docker network {name!r}", ensure)

    async def list_containers(self, label_filters: list[str]) -> list[dict[str, Any]]:
        """Return summaries of all containers matching the labels, sorted by ID.

        Stopped containers are included.
        """
        summaries: list[dict[str, Any]] = await self._call(
            "list docker sandbox containers",
            self.client.containers,
            all=True,
            filters={"label": label_filters},
        )
        return sorted(summaries, key=lambda summary: str(summary["Id"]))

    async def inspect_container(self, container_id: str) -> dict[str, Any] | None:
        """Return the container's inspect document, or None when it is gone."""

        def inspect() -> dict[str, Any] | None:
            try:
                info: dict[str, Any] = self.client.inspect_container(container_id)
            except docker.errors.NotFound:
                return None
            return info

        return await self._call("inspect docker sandbox container", inspect)

    async def image_id(self, reference: str) -> str | None:
        """Return the local image's immutable ID, or None when it is not present."""

        def inspect() -> str | None:
            try:
                info: dict[str, Any] = self.client.inspect_image(reference)  # type: ignore[no-untyped-call]
            except docker.errors.NotFound:
                return None
            return str(info["Id"])

        return await self._call("inspect docker image", inspect)

    async def pull_image(self, reference: str) -> None:
        """Pull an image, raising when the engine reports an error in the stream."""

        def pull() -> None:
            for message in self.client.pull(reference, stream=True, decode=True):
                if "error" in message:
                    raise DriverError.internal(
                        f"pull docker image {reference!r} failed: {message['error']}"
                    )

        await self._call(f"pull docker image {reference!r}", pull)

    async def create_container(self, spec: ContainerSpec, image_id: str) -> str:
        """Create a container from the spec and return its ID."""

        def create() -> str:
            host_config = self.client.create_host_config(
                network_mode=spec.network,
                nano_cpus=spec.nano_cpus,
                mem_limit=spec.memory_bytes,
                pids_limit=spec.pids_limit,
            )
            created = self.client.create_container(
                image_id,
                command=spec.command,
                entrypoint=spec.entrypoint,
                environment=[
                    f"{key}={value}" for key, value in sorted(spec.environment.items())
                ],
                tty=spec.tty,
                # A retained terminal keeps its input open, so an interactive
                # shell waits for input instead of reading end-of-file.
                stdin_open=spec.tty,
                labels=spec.labels,
                name=spec.name,
                host_config=host_config,
                detach=True,
            )
            return str(created["Id"])

        return await self._call("create docker sandbox container", create)

    async def start_container(self, container_id: str) -> None:
        """Start a container; already running is success, gone is NOT_FOUND."""

        def start() -> None:
            try:
                self.client.start(container_id)
            except docker.errors.NotFound:
                raise DriverError.not_found() from None

        await self._call("start docker sandbox container", start)

    async def stop_container(self, container_id: str) -> None:
        """Stop a container and return once it is stopped; raise NOT_FOUND when gone.

        The engine returns 304 for a container that is not running, which
        docker-py does not raise.
        """

        def stop() -> None:
            try:
                self.client.stop(container_id, timeout=STOP_TIMEOUT_SECONDS)
            except docker.errors.NotFound:
                raise DriverError.not_found() from None

        await self._call("stop docker sandbox container", stop)

    async def remove_container(self, container_id: str) -> bool:
        """Force-remove a container; return False when it was already gone.

        When another client is already removing it (409), wait until it is gone.
        """

        def remove() -> bool:
            try:
                self.client.remove_container(container_id, force=True)
            except docker.errors.NotFound:
                return False
            except docker.errors.APIError as error:
                if error.status_code != _HTTP_CONFLICT:
                    raise
                self._wait_removed(container_id)
            return True

        return await self._call("delete docker sandbox container", remove)

    def _wait_removed(self, container_id: str) -> None:
        with contextlib.suppress(docker.errors.NotFound):
            self.client.wait(
                container_id, timeout=REMOVAL_WAIT_SECONDS, condition="removed"
            )

    async def _run(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._executor, functools.partial(function, *args, **kwargs)
        )

    async def _call(
        self, operation: str, function: Callable[..., T], *args: Any, **kwargs: Any
    ) -> T:
        """Run a blocking call, turning engine failures into INTERNAL errors.

        NOTE: while the engine is down, docker-py 7.2 leaves the socket of
        each failed connect to the garbage collector, which warns about it.
        """
        try:
            return await self._run(function, *args, **kwargs)
        except DriverError:
            raise
        except docker.errors.APIError as error:
            raise DriverError.internal(
                f"{operation} failed: {error.explanation or error}"
            ) from None
        except (docker.errors.DockerException, OSError) as error:
            raise DriverError.internal(f"{operation} failed: {error}") from None

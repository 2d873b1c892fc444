"""Checking a requested sandbox and turning it into container settings.

Without an in-sandbox supervisor the container runs the requested command
itself: no supervisor binary, token file or callback environment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from openshell.errors import DriverError
from openshell.proto import compute_driver_pb2 as pb
from openshell_driver_docker.naming import container_name, sandbox_labels
from openshell_driver_docker.quantity import (
    cpu_limit_to_nano_cpus,
    memory_limit_to_bytes,
)
from openshell_driver_docker.settings import DockerSettings

CLEARED_ENTRYPOINT = [""]
"""Entrypoint that makes Docker drop the image's entrypoint, as `--entrypoint ""`."""

_UNSUPPORTED_DRIVER_CONFIG_KEYS = ("mounts", "cdi_devices")


@dataclass(frozen=True)
class ContainerSpec:
    """Everything needed to create one sandbox container."""

    name: str
    image: str
    command: list[str] | None
    """Exact argv; None keeps the image's entrypoint and command."""
    environment: dict[str, str]
    tty: bool
    labels: dict[str, str]
    network: str
    nano_cpus: int | None = None
    memory_bytes: int | None = None
    pids_limit: int | None = None

    @property
    def entrypoint(self) -> list[str] | None:
        """The entrypoint to send: cleared when a command is given, so argv is exact."""
        return CLEARED_ENTRYPOINT if self.command is not None else None


_NAME_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN = (
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)*(?::[0-9]+)?/)"
)
IMAGE_REFERENCE = re.compile(
    rf"{_DOMAIN}?{_NAME_COMPONENT}(?:/{_NAME_COMPONENT})*"
    r"(?::[\w][\w.-]{0,127})?(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*"
    r":[0-9a-fA-F]{32,})?"
)
"""Image references as Docker's reference grammar accepts them."""


def check_sandbox(sandbox: pb.DriverSandbox) -> pb.DriverSandboxTemplate:
    """Raise `DriverError` when this driver cannot run the sandbox; return its template.

    Missing `spec` or `template` is INVALID_ARGUMENT; settings that Docker
    cannot honour here are FAILED_PRECONDITION, as upstream reports them.
    """
    if not sandbox.HasField("spec"):
        raise DriverError.invalid_argument("sandbox.spec is required")
    spec = sandbox.spec
    if not spec.HasField("template"):
        raise DriverError.invalid_argument("sandbox.spec.template is required")
    template = spec.template

    if not template.image.strip():
        raise DriverError.failed_precondition(
            "docker sandboxes require a template image"
        )
    if not IMAGE_REFERENCE.fullmatch(template.image.strip()):
        raise DriverError.invalid_argument(
            f"invalid image reference {template.image.strip()!r}: expected "
            "[HOST[:PORT]/]NAME[:TAG][@DIGEST] with a lower-case name"
        )
    if spec.HasField("resource_requirements") and spec.resource_requirements.HasField(
        "gpu"
    ):
        raise DriverError.failed_precondition(
            "docker compute driver does not support GPU sandboxes"
        )
    if template.agent_socket_path.strip():
        raise DriverError.failed_precondition(
            "docker compute driver does not support template.agent_socket_path"
        )
    if template.HasField("platform_config") and template.platform_config.fields:
        raise DriverError.failed_precondition(
            "docker compute driver does not support template.platform_config"
        )

    _check_driver_config(template)
    _resource_limits(template)
    _environment(template, spec)
    return template


def build_container_spec(
    sandbox: pb.DriverSandbox, settings: DockerSettings
) -> ContainerSpec:
    """Check the sandbox and return the settings of its container."""
    template = check_sandbox(sandbox)
    spec = sandbox.spec
    nano_cpus, memory_bytes = _resource_limits(template)

    return ContainerSpec(
        name=container_name(sandbox.workspace, sandbox.name, sandbox.id),
        image=template.image.strip(),
        command=list(spec.command) or None,
        environment=_environment(template, spec),
        tty=spec.tty,
        labels=sandbox_labels(
            template.labels,
            sandbox_id=sandbox.id,
            sandbox_name=sandbox.name,
            workspace=sandbox.workspace,
            namespace=settings.sandbox_namespace,
        ),
        network=settings.network_name,
        nano_cpus=nano_cpus,
        memory_bytes=memory_bytes,
        pids_limit=settings.sandbox_pids_limit or None,
    )


def _check_driver_config(template: pb.DriverSandboxTemplate) -> None:
    if not template.HasField("driver_config"):
        return
    for key in sorted(template.driver_config.fields):
        if key in _UNSUPPORTED_DRIVER_CONFIG_KEYS:
            raise DriverError.failed_precondition(
                f"docker compute driver does not support driver_config.{key}"
            )
        raise DriverError.invalid_argument(
            f"unknown driver_config key {key!r} for the docker compute driver"
        )


def _resource_limits(
    template: pb.DriverSandboxTemplate,
) -> tuple[int | None, int | None]:
    """Return (NanoCPUs, memory bytes); requests are rejected, as Docker has none."""
    if not template.HasField("resources"):
        return None, None
    resources = template.resources

    if resources.cpu_request.strip():
        raise DriverError.failed_precondition(
            "docker compute driver does not support resources.requests.cpu"
        )
    if resources.memory_request.strip():
        raise DriverError.failed_precondition(
            "docker compute driver does not support resources.requests.memory"
        )

    nano_cpus = None
    if resources.cpu_limit.strip():
        try:
            nano_cpus = cpu_limit_to_nano_cpus(resources.cpu_limit)
        except ValueError:
            raise DriverError.failed_precondition(
                f"invalid docker cpu_limit {resources.cpu_limit!r}; expected a "
                "quantity greater than zero such as 500m or 2"
            ) from None

    memory_bytes = None
    if resources.memory_limit.strip():
        try:
            memory_bytes = memory_limit_to_bytes(resources.memory_limit)
        except ValueError:
            raise DriverError.failed_precondition(
                f"invalid docker memory_limit {resources.memory_limit!r}; expected a "
                "quantity greater than zero such as 256Mi or 1G"
            ) from None

    return nano_cpus, memory_bytes


def _environment(
    template: pb.DriverSandboxTemplate, spec: pb.DriverSandboxSpec
) -> dict[str, str]:
    """Merge the template's environment with the spec's, the spec winning."""
    environment = {**template.environment, **spec.environment}
    for key in environment:
        if not key or "=" in key or "\0" in key:
            raise DriverError.invalid_argument(
                f"invalid environment variable name {key!r}"
            )
    return environment

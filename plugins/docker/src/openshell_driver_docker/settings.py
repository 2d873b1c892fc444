"""Keys of `[openshell.drivers.docker]`: defaults, checks and the parsed settings.

This module is imported by the light plugin module, so it must not import the
Docker client.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import PurePosixPath
from typing import Any

from openshell.config import DriverConfigError

DEFAULT_IMAGE = "ghcr.io/nvidia/openshell-community/sandboxes/base:latest"
DEFAULT_NETWORK_NAME = "openshell-docker"
DEFAULT_SANDBOX_NAMESPACE = "default"
DEFAULT_PIDS_LIMIT = 2048

CONFIG_DEFAULTS: dict[str, Any] = {
    "socket_path": None,
    "default_image": DEFAULT_IMAGE,
    "image_pull_policy": "",
    "sandbox_namespace": DEFAULT_SANDBOX_NAMESPACE,
    "network_name": DEFAULT_NETWORK_NAME,
    "sandbox_pids_limit": DEFAULT_PIDS_LIMIT,
}
"""Every key this driver reads, with its default (None: resolved at start-up)."""

UNUSED_KEYS = frozenset(
    {
        "grpc_endpoint",
        "supervisor_bin",
        "supervisor_image",
        "guest_tls_ca",
        "guest_tls_cert",
        "guest_tls_key",
        "ssh_socket_path",
        "host_gateway_ip",
        "enable_bind_mounts",
    }
)
"""Keys the upstream Docker driver accepts that this driver ignores.

They configure the in-sandbox supervisor, its TLS callback and the host
aliases it dials, or `driver_config` bind mounts, none of which exist here.
"""

# The pattern Docker uses for object names (RestrictedNamePattern in the
# daemon's names package).
_NETWORK_NAME_PATTERN = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*")


class PullPolicy(Enum):
    """When to pull the sandbox image before creating the container."""

    IF_NOT_PRESENT = "IfNotPresent"
    ALWAYS = "Always"
    NEVER = "Never"

    @classmethod
    def parse(cls, raw: str) -> PullPolicy:
        """Map a configured value, compared case-insensitively; "" is IfNotPresent."""
        lowered = raw.strip().lower()
        if not lowered:
            return cls.IF_NOT_PRESENT
        for policy in cls:
            if policy.value.lower() == lowered:
                return policy
        raise ValueError(raw)


@dataclass(frozen=True)
class DockerSettings:
    """Checked values of the driver's table."""

    socket_path: str | None = None
    default_image: str = DEFAULT_IMAGE
    image_pull_policy: PullPolicy = PullPolicy.IF_NOT_PRESENT
    sandbox_namespace: str = DEFAULT_SANDBOX_NAMESPACE
    network_name: str = DEFAULT_NETWORK_NAME
    sandbox_pids_limit: int = DEFAULT_PIDS_LIMIT

    @classmethod
    def from_table(cls, table: Mapping[str, Any]) -> DockerSettings:
        """Check a table (missing keys take their defaults) and parse it."""
        checked = validate_table(table)
        return cls(
            socket_path=checked["socket_path"],
            default_image=checked["default_image"],
            image_pull_policy=PullPolicy.parse(checked["image_pull_policy"]),
            sandbox_namespace=checked["sandbox_namespace"],
            network_name=checked["network_name"],
            sandbox_pids_limit=checked["sandbox_pids_limit"],
        )


def check_known_keys(table: Mapping[str, Any]) -> list[str]:
    """Raise for a key this driver does not know; return the ignored upstream keys.

    The gateway rejects unknown keys before it calls the validator; the
    standalone program calls this itself.
    """
    for key in table:
        if key not in CONFIG_DEFAULTS and key not in UNUSED_KEYS:
            known = ", ".join(sorted(CONFIG_DEFAULTS))
            raise DriverConfigError(key, f"unknown key; the known keys are {known}")
    return sorted(key for key in table if key in UNUSED_KEYS)


def validate_table(table: Mapping[str, Any]) -> dict[str, Any]:
    """Return the table with defaults filled and values normalised.

    Raise `DriverConfigError` naming the key for a value of the wrong type or
    out of range. Ignored upstream keys pass through unchanged.
    """
    checked: dict[str, Any] = {**CONFIG_DEFAULTS, **table}
    checked["socket_path"] = _check_socket_path(checked["socket_path"])
    checked["default_image"] = _check_string("default_image", checked["default_image"])
    checked["image_pull_policy"] = _check_pull_policy(checked["image_pull_policy"])
    checked["sandbox_namespace"] = _check_namespace(checked["sandbox_namespace"])
    checked["network_name"] = _check_network_name(checked["network_name"])
    checked["sandbox_pids_limit"] = _check_pids_limit(checked["sandbox_pids_limit"])
    return checked


def _check_string(key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise DriverConfigError(key, f"must be a string, not {type(value).__name__}")
    return value


def _check_socket_path(value: Any) -> str | None:
    if value is None:
        return None
    path = _check_string("socket_path", value).strip()
    if not path:
        return None
    if not PurePosixPath(path).is_absolute():
        raise DriverConfigError(
            "socket_path",
            f"must be an absolute path to the Docker socket, not {path!r}",
        )
    return path


def _check_pull_policy(value: Any) -> str:
    raw = _check_string("image_pull_policy", value)
    try:
        policy = PullPolicy.parse(raw)
    except ValueError:
        raise DriverConfigError(
            "image_pull_policy",
            f'invalid value {raw!r}; use "", IfNotPresent, Always or Never',
        ) from None
    return "" if not raw.strip() else policy.value


def _check_namespace(value: Any) -> str:
    namespace = _check_string("sandbox_namespace", value)
    if not namespace:
        raise DriverConfigError("sandbox_namespace", "must not be empty")
    return namespace


def _check_network_name(value: Any) -> str:
    name = _check_string("network_name", value).strip()
    if not _NETWORK_NAME_PATTERN.fullmatch(name):
        raise DriverConfigError(
            "network_name",
            f"invalid Docker network name {name!r}; start with a letter or digit "
            "and use only letters, digits, '_', '.' and '-'",
        )
    return name


def _check_pids_limit(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise DriverConfigError(
            "sandbox_pids_limit", f"must be an integer, not {type(value).__name__}"
        )
    if value < 0:
        raise DriverConfigError(
            "sandbox_pids_limit",
            f"must be 0 (the Docker default) or a positive limit, not {value}",
        )
    return value

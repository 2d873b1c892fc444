"""Driver name rules: normalisation and the names only in-tree plugins may use."""

from __future__ import annotations

import re

from openshell.errors import ConfigError

RESERVED_DRIVERS: dict[str, str] = {
    "docker": "openshell-driver-docker",
    "podman": "openshell-driver-podman",
    "kubernetes": "openshell-driver-kubernetes",
    "vm": "openshell-driver-vm",
}
"""Reserved driver name -> the only distribution allowed to register it."""

_NAME_PATTERN = re.compile(r"[A-Za-z0-9_-]+")
_ASCII_WHITESPACE = " \t\n\r\x0b\x0c"


def normalize_driver_name(raw: str) -> str:
    """Return the canonical form of a driver name, or raise ConfigError.

    Surrounding ASCII white space is trimmed and the name is lower-cased;
    empty names and characters outside [A-Za-z0-9_-] are rejected.
    """
    name = raw.strip(_ASCII_WHITESPACE)
    if not name:
        raise ConfigError("invalid compute driver name '': a name must not be empty")
    if not _NAME_PATTERN.fullmatch(name):
        raise ConfigError(
            f"invalid compute driver name {raw!r}: use only letters, digits, "
            "'-' and '_'"
        )
    return name.lower()


def package_for(name: str) -> str:
    """Return the distribution that provides a driver name by convention."""
    return RESERVED_DRIVERS.get(name, f"openshell-driver-{name}")

"""Values exchanged between the plugin host and a driver plugin's hooks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

DriverKind = Literal["in-process", "managed"]


@dataclass(frozen=True)
class DriverDescription:
    """Description of a plugin's driver, available without importing the driver.

    `config_keys` maps every key of `[openshell.drivers.NAME]` that the driver
    uses to its default (None when it has none). `unused_keys` lists keys the
    upstream driver of the same name accepts and this one ignores: they load
    with a warning instead of an unknown-key error.
    """

    summary: str
    kind: DriverKind
    config_keys: Mapping[str, Any] = field(default_factory=dict)
    unused_keys: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ProbeResult:
    """Outcome of auto-detection for one driver.

    `priority` orders the probes (lower runs first), `available` is whether
    the backend responded, and `outcomes` lists what each candidate did, for
    the log and for the error shown when nothing is available.
    """

    priority: int
    available: bool
    outcomes: tuple[str, ...] = ()


@dataclass(frozen=True)
class DriverContext:
    """Facts about the gateway that a driver may need when it is acquired."""

    name: str
    state_dir: Path
    log_level: str
    gateway_port: int


@dataclass(frozen=True)
class ManagedCommand:
    """Program that the gateway starts for a managed driver.

    The gateway appends `--bind-socket PATH` and passes the per-launch caller
    secret privately; `argv` contains everything else, `env` extra variables.
    """

    argv: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)

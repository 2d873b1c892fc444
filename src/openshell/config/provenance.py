"""Provenance of configuration values: flag, variable, file line or default."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

SourceKind = Literal["flag", "env", "file", "default"]

PRECEDENCE: tuple[SourceKind, ...] = ("flag", "env", "file", "default")
"""Source kinds from highest to lowest precedence."""


@dataclass(frozen=True)
class Source:
    """Provenance of one value.

    `detail` is the flag ("--port"), the variable ("OPENSHELL_SERVER_PORT"),
    the file and line ("/etc/openshell/gateway.toml:12") or "built-in default".
    """

    kind: SourceKind
    detail: str

    def __str__(self) -> str:
        if self.kind == "file":
            return self.detail
        if self.kind == "default":
            return "default"
        return f"{self.kind} {self.detail}"


DEFAULT_SOURCE = Source("default", "built-in default")


@dataclass(frozen=True)
class Setting(Generic[T_co]):
    """One effective value and its provenance."""

    value: T_co
    source: Source


def first_setting(*candidates: Setting[T] | None) -> Setting[T] | None:
    """Return the first candidate that is present; callers list them by precedence."""
    for candidate in candidates:
        if candidate is not None:
            return candidate
    return None


def combine_sources(parts: Sequence[tuple[str, Source]]) -> Source:
    """Describe a value assembled from several sources as one `Source`.

    The source of highest precedence gives the kind; every other distinct
    source is appended with the part it supplied, for example
    "--port, IP from /etc/openshell/gateway.toml:3".
    """
    ordered = sorted(parts, key=lambda part: PRECEDENCE.index(part[1].kind))
    primary = ordered[0][1]
    extras = [
        f"{label} from {source}" for label, source in ordered[1:] if source != primary
    ]
    if not extras:
        return primary
    return Source(primary.kind, ", ".join([primary.detail, *extras]))

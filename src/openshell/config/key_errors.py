"""Errors for unknown keys and values of the wrong TOML type."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time
from typing import Any

from openshell.config.schema import ValueType
from openshell.errors import ConfigError

_EXPECTED = {
    "integer": "an integer",
    "string": "a string",
    "boolean": "a boolean",
    "string list": "a list of strings",
    "table": "a table",
}


def unknown_key_error(where: str, key: str, accepted: Iterable[str]) -> ConfigError:
    """Build the error for an unknown key, suggesting the closest accepted key."""
    names = sorted(accepted)
    close = difflib.get_close_matches(key, names, n=1)
    if close:
        return ConfigError(f"unknown key {where}: did you mean {close[0]!r}?")
    if not names:
        return ConfigError(f"unknown key {where}: this table accepts no keys")
    return ConfigError(f"unknown key {where}: accepted keys are {', '.join(names)}")


def has_type(value: Any, expected: ValueType) -> bool:
    """Return whether a TOML value has the expected type (booleans are not integers)."""
    if expected == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if expected == "string":
        return isinstance(value, str)
    if expected == "boolean":
        return isinstance(value, bool)
    if expected == "string list":
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    return isinstance(value, Mapping)


def type_error(where: str, value: Any, expected: ValueType) -> ConfigError:
    """Build the error for a value of the wrong type."""
    return ConfigError(
        f"invalid value for {where}: expected {_EXPECTED[expected]}, "
        f"got {toml_type_name(value)}"
    )


def toml_type_name(value: Any) -> str:
    """Name the TOML type of a value returned by `tomllib`, with its article."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, (datetime, date, time)):
        return "a date or time"
    return "a table"

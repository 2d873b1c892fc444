"""Finding, reading and parsing gateway.toml, keeping the line of every key."""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openshell.config.paths import default_config_path
from openshell.config.provenance import Setting, Source
from openshell.config.schema import CONFIG_PATH
from openshell.config.toml_lines import KeyPath, index_key_lines
from openshell.errors import ConfigError

_TOMLLIB_POSITION = re.compile(r" \(at line (\d+), column (\d+)\)$")
_TOMLLIB_END = " (at end of document)"
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class ConfigDocument:
    """A parsed gateway.toml: the values `tomllib` returned and each key's line."""

    path: Path
    values: Mapping[str, Any]
    lines: Mapping[KeyPath, int] = field(default_factory=dict)

    def get(self, path: KeyPath) -> Any | None:
        """Return the value at a key path, or None when it is absent."""
        node: Any = self.values
        for key in path:
            if not isinstance(node, Mapping) or key not in node:
                return None
            node = node[key]
        return node

    def source(self, path: KeyPath) -> Source:
        """Return the file and line where a key path is defined."""
        line = self.lines.get(path)
        detail = f"{self.path}:{line}" if line is not None else str(self.path)
        return Source("file", detail)

    def where(self, path: KeyPath) -> str:
        """Name a key and its location, as in `[openshell.gateway] port (/p:3)`."""
        return f"{key_label(path, self.get(path))} ({self.source(path)})"

    def setting(self, path: KeyPath) -> Setting[Any] | None:
        """Return the value at a key path with its file source, or None."""
        value = self.get(path)
        if value is None:
            return None
        return Setting(value, self.source(path))


def key_label(path: KeyPath, value: Any = None) -> str:
    """Spell a key path the way a reader finds it in the file.

    A table is shown as its header (`[openshell.gateway.tls]`), an array of
    tables as `[[...]]`, and any other key as `[table] key`.
    """
    parts = [_format_key(part) for part in path]
    if isinstance(value, Mapping):
        return f"[{'.'.join(parts)}]"
    if isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
        return f"[[{'.'.join(parts)}]]"
    if len(parts) == 1:
        return parts[0]
    return f"[{'.'.join(parts[:-1])}] {parts[-1]}"


def _format_key(part: str | int) -> str:
    if isinstance(part, int):
        return str(part)
    if _BARE_KEY.fullmatch(part):
        return part
    return json.dumps(part, ensure_ascii=False)


def read_config_file(
    config_path: str | None, environ: Mapping[str, str]
) -> ConfigDocument | None:
    """Find and parse gateway.toml; return None when there is no file to load.

    An explicit path (`--config`, else OPENSHELL_GATEWAY_CONFIG) must be
    readable. Without one, the XDG default is read only when it is a regular
    file. An empty or whitespace-only file counts as no file.
    """
    explicit = _explicit_path(config_path, environ)
    if explicit is not None:
        path, where = explicit
        text = _read_text(path, where)
    else:
        path = default_config_path(environ)
        if not path.is_file():
            return None
        text = _read_text(path, "the default location")

    if not text.strip():
        return None
    return ConfigDocument(path, parse_toml(text, path), index_key_lines(text))


def _explicit_path(
    config_path: str | None, environ: Mapping[str, str]
) -> tuple[Path, str] | None:
    if config_path is not None:
        raw, where = config_path, f"flag {CONFIG_PATH.flag}"
    elif CONFIG_PATH.variable in environ:
        raw, where = environ[CONFIG_PATH.variable], f"env {CONFIG_PATH.variable}"
    else:
        return None
    if not raw:
        raise ConfigError(f"empty config file path from {where}: give a file path")
    return Path(raw), where


def _read_text(path: Path, where: str) -> str:
    # A FIFO or device would block or never end; only regular files are read.
    if path.exists() and not path.is_file() and not path.is_dir():
        raise ConfigError(
            f"cannot read config file {path} (from {where}): not a regular file"
        )
    try:
        data = path.read_bytes()
    except OSError as error:
        reason = error.strerror or str(error)
        raise ConfigError(
            f"cannot read config file {path} (from {where}): {reason}"
        ) from error
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ConfigError(
            f"config file {path} is not valid UTF-8 (at byte offset {error.start}): "
            "save it as UTF-8"
        ) from error


def parse_toml(text: str, path: Path) -> dict[str, Any]:
    """Parse with `tomllib`, turning its error into one naming path, line, column."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        message, line, column = _split_position(str(error), text)
        raise ConfigError(
            f"invalid TOML in {path} at line {line}, column {column}: {message}"
        ) from error


def _split_position(message: str, text: str) -> tuple[str, int, int]:
    """Separate the position that Python 3.11's `tomllib` appends to its message."""
    match = _TOMLLIB_POSITION.search(message)
    if match:
        return message[: match.start()], int(match[1]), int(match[2])
    if message.endswith(_TOMLLIB_END):
        lines = text.split("\n")
        return message[: -len(_TOMLLIB_END)], len(lines), len(lines[-1]) + 1
    return message, 1, 1

"""The standalone program's TOML file: the driver table's keys at top level."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from openshell.config import DriverConfigError
from openshell.config.toml_lines import index_key_lines
from openshell.errors import ConfigError
from openshell_driver_docker.settings import DockerSettings, check_known_keys


@dataclass(frozen=True)
class ConfigFile:
    """Settings read from a file, and the upstream keys it set that are ignored."""

    settings: DockerSettings
    ignored_keys: list[str]


def load_config_file(path: Path) -> ConfigFile:
    """Read and check the file; raise ConfigError naming the file, line and key."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read the driver config: {error}") from None
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML: {error}") from None

    try:
        ignored = check_known_keys(table)
        settings = DockerSettings.from_table(table)
    except DriverConfigError as error:
        line = index_key_lines(text).get((error.key,))
        where = f"{path}:{line}" if line is not None else str(path)
        raise ConfigError(f"{where}: {error.key}: {error.message}") from None
    return ConfigFile(settings, ignored)

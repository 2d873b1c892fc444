"""Fixtures that load configurations from temporary files and environments."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from openshell.config import CommandLine, GatewayConfig, load_config

WriteConfig = Callable[[str], Path]
Load = Callable[..., GatewayConfig]


@pytest.fixture
def environ(tmp_path: Path) -> dict[str, str]:
    """An environment with a private HOME and no XDG or OPENSHELL variables."""
    home = tmp_path / "home"
    home.mkdir()
    return {"HOME": str(home)}


@pytest.fixture
def write_config(tmp_path: Path) -> WriteConfig:
    """Write text to a fresh gateway.toml and return its path."""

    def write(text: str) -> Path:
        path = tmp_path / "gateway.toml"
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def load(write_config: WriteConfig, environ: dict[str, str]) -> Load:
    """Load a configuration from optional file text, flags and variables."""

    def load_with(
        text: str | None = None,
        command_line: CommandLine | None = None,
        env: Mapping[str, str] | None = None,
    ) -> GatewayConfig:
        command_line = command_line or CommandLine()
        if text is not None:
            path = write_config(text)
            command_line = CommandLine(
                **{**command_line.__dict__, "config_path": str(path)}
            )
        return load_config(command_line, {**environ, **(env or {})})

    return load_with

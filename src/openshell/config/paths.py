"""Default locations under the XDG base directories."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

APP_DIR = "openshell"
CONFIG_FILE_NAME = "gateway.toml"
STATE_SUBDIR = "gateway"
DATABASE_FILE_NAME = "openshell.db"


def _home(environ: Mapping[str, str]) -> Path:
    home = environ.get("HOME", "")
    return Path(home) if home else Path.home()


def _xdg_dir(environ: Mapping[str, str], variable: str, fallback: str) -> Path:
    """Return an XDG base directory; relative or empty values are ignored.

    The XDG Base Directory specification treats a relative path in these
    variables as invalid, to be ignored.
    """
    value = environ.get(variable, "")
    if value and Path(value).is_absolute():
        return Path(value)
    return _home(environ) / fallback


def default_config_path(environ: Mapping[str, str]) -> Path:
    """Return `$XDG_CONFIG_HOME/openshell/gateway.toml` (or under ~/.config)."""
    config_home = _xdg_dir(environ, "XDG_CONFIG_HOME", ".config")
    return config_home / APP_DIR / CONFIG_FILE_NAME


def state_dir(environ: Mapping[str, str]) -> Path:
    """Return `$XDG_STATE_HOME/openshell/gateway` (or under ~/.local/state)."""
    state_home = _xdg_dir(environ, "XDG_STATE_HOME", ".local/state")
    return state_home / APP_DIR / STATE_SUBDIR


def default_database_url(environ: Mapping[str, str]) -> str:
    """Return the SQLite URL of the store file in the state directory."""
    return f"sqlite:{state_dir(environ) / DATABASE_FILE_NAME}"

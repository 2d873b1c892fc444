"""Finding and reading gateway.toml."""

from __future__ import annotations

from pathlib import Path

import pytest

from openshell.config import CommandLine, load_config
from openshell.errors import ConfigError

from .conftest import Load, WriteConfig


def test_missing_explicit_file_names_path_and_os_error(
    tmp_path: Path, environ: dict[str, str]
) -> None:
    missing = tmp_path / "absent.toml"

    with pytest.raises(ConfigError) as caught:
        load_config(CommandLine(config_path=str(missing)), environ)

    assert str(caught.value) == (
        f"cannot read config file {missing} (from flag --config): "
        "No such file or directory"
    )


def test_missing_file_from_variable_names_variable(
    tmp_path: Path, environ: dict[str, str]
) -> None:
    missing = tmp_path / "absent.toml"
    environ["OPENSHELL_GATEWAY_CONFIG"] = str(missing)

    with pytest.raises(ConfigError) as caught:
        load_config(CommandLine(), environ)

    assert str(caught.value) == (
        f"cannot read config file {missing} (from env OPENSHELL_GATEWAY_CONFIG): "
        "No such file or directory"
    )


def test_unreadable_file_is_error(tmp_path: Path, environ: dict[str, str]) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(CommandLine(config_path=str(tmp_path)), environ)

    assert str(caught.value) == (
        f"cannot read config file {tmp_path} (from flag --config): Is a directory"
    )


def test_flag_path_wins_over_variable(
    write_config: WriteConfig, tmp_path: Path, environ: dict[str, str]
) -> None:
    path = write_config('[openshell.gateway]\nlog_level = "debug"\n')
    environ["OPENSHELL_GATEWAY_CONFIG"] = str(tmp_path / "absent.toml")

    config = load_config(CommandLine(config_path=str(path)), environ)

    assert config.path == path
    assert config.log_level.value == "debug"


def test_empty_config_path_is_error(environ: dict[str, str]) -> None:
    environ["OPENSHELL_GATEWAY_CONFIG"] = ""

    with pytest.raises(ConfigError) as caught:
        load_config(CommandLine(), environ)

    assert str(caught.value) == (
        "empty config file path from env OPENSHELL_GATEWAY_CONFIG: give a file path"
    )


@pytest.mark.parametrize("text", ["", "  \n\t\n", "\n\n\n"])
def test_empty_file_counts_as_no_file(load: Load, text: str) -> None:
    config = load(text)

    assert config.path is None
    assert config.bind_address.value == ("127.0.0.1", 17670)
    assert config.warnings == ()


def test_comment_only_file_is_loaded(load: Load) -> None:
    config = load("# nothing set yet\n")

    assert config.path is not None
    assert config.log_level.source.kind == "default"


def test_default_path_under_xdg_config_home(
    tmp_path: Path, environ: dict[str, str]
) -> None:
    config_dir = tmp_path / "xdg" / "openshell"
    config_dir.mkdir(parents=True)
    (config_dir / "gateway.toml").write_text(
        '[openshell.gateway]\nlog_level = "error"\n'
    )
    environ["XDG_CONFIG_HOME"] = str(tmp_path / "xdg")

    config = load_config(CommandLine(), environ)

    assert config.path == config_dir / "gateway.toml"
    assert config.log_level.value == "error"


def test_default_path_falls_back_to_home_config(environ: dict[str, str]) -> None:
    config_dir = Path(environ["HOME"]) / ".config" / "openshell"
    config_dir.mkdir(parents=True)
    (config_dir / "gateway.toml").write_text(
        '[openshell.gateway]\nlog_level = "trace"\n'
    )

    config = load_config(CommandLine(), environ)

    assert config.path == config_dir / "gateway.toml"
    assert config.log_level.value == "trace"


def test_relative_xdg_config_home_is_ignored(environ: dict[str, str]) -> None:
    config_dir = Path(environ["HOME"]) / ".config" / "openshell"
    config_dir.mkdir(parents=True)
    (config_dir / "gateway.toml").write_text(
        '[openshell.gateway]\nlog_level = "trace"\n'
    )
    environ["XDG_CONFIG_HOME"] = "relative/dir"

    config = load_config(CommandLine(), environ)

    assert config.path == config_dir / "gateway.toml"


def test_absent_default_file_is_silent(environ: dict[str, str]) -> None:
    config = load_config(CommandLine(), environ)

    assert config.path is None
    assert config.warnings == ()


def test_default_path_that_is_a_directory_is_ignored(environ: dict[str, str]) -> None:
    (Path(environ["HOME"]) / ".config" / "openshell" / "gateway.toml").mkdir(
        parents=True
    )

    config = load_config(CommandLine(), environ)

    assert config.path is None


def test_toml_syntax_error_names_path_line_and_column(
    load: Load, write_config: WriteConfig
) -> None:
    text = '[openshell]\nversion = 1\n[openshell.gateway]\nlog_level = "info\n'
    path = write_config(text)

    with pytest.raises(ConfigError) as caught:
        load(text)

    assert str(caught.value) == (
        f"invalid TOML in {path} at line 4, column 18: Illegal character '\\n'"
    )


def test_toml_redefined_table_is_error(load: Load, write_config: WriteConfig) -> None:
    text = (
        '[openshell.gateway]\nlog_level = "info"\n\n'
        "[openshell.gateway]\nbind_address = '127.0.0.1:1'\n"
    )
    path = write_config(text)

    with pytest.raises(ConfigError) as caught:
        load(text)

    assert str(caught.value) == (
        f"invalid TOML in {path} at line 4, column 19: "
        "Cannot declare ('openshell', 'gateway') twice"
    )


def test_toml_error_at_document_end(load: Load, write_config: WriteConfig) -> None:
    text = "[openshell]\nversion ="
    path = write_config(text)

    with pytest.raises(ConfigError) as caught:
        load(text)

    assert str(caught.value) == (
        f"invalid TOML in {path} at line 2, column 10: Invalid value"
    )


def test_invalid_utf8_is_error(tmp_path: Path, environ: dict[str, str]) -> None:
    path = tmp_path / "gateway.toml"
    path.write_bytes(b"[openshell]\n# caf\xe9\n")

    with pytest.raises(ConfigError) as caught:
        load_config(CommandLine(config_path=str(path)), environ)

    assert str(caught.value) == (
        f"config file {path} is not valid UTF-8 (at byte offset 17): save it as UTF-8"
    )

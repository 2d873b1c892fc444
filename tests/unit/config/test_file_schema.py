"""Keys of gateway.toml: unknown keys, version, secrets, types, upstream keys."""

from __future__ import annotations

import pytest

from openshell.config.schema import IGNORED_GATEWAY_KEYS
from openshell.errors import ConfigError

from .conftest import Load, WriteConfig


def _error(load: Load, text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load(text)
    return str(caught.value)


def test_misspelt_gateway_key_suggests_closest(
    load: Load, write_config: WriteConfig
) -> None:
    text = '[openshell]\nversion = 1\n\n[openshell.gateway]\nbind_adress = "x"\n'
    path = write_config(text)

    assert _error(load, text) == (
        f"unknown key [openshell.gateway] bind_adress ({path}:5): "
        "did you mean 'bind_address'?"
    )


def test_unknown_key_lists_accepted_keys(load: Load, write_config: WriteConfig) -> None:
    text = "[openshell.gateway]\nzzzzzz = 1\n"
    path = write_config(text)

    message = _error(load, text)

    assert message.startswith(
        f"unknown key [openshell.gateway] zzzzzz ({path}:2): accepted keys are "
    )
    assert "bind_address" in message
    assert "gateway_jwt" in message


def test_unknown_root_key_is_error(load: Load, write_config: WriteConfig) -> None:
    text = '[openshell]\nversion = 1\n\n[openshel.gateway]\nlog_level = "info"\n'
    path = write_config(text)

    assert _error(load, text) == (
        f"unknown key [openshel] ({path}:4): did you mean 'openshell'?"
    )


def test_unknown_root_scalar_is_error(load: Load, write_config: WriteConfig) -> None:
    path = write_config("title = 'x'\n")

    assert _error(load, "title = 'x'\n") == (
        f"unknown key title ({path}:1): accepted keys are openshell"
    )


def test_unknown_openshell_key_is_error(load: Load, write_config: WriteConfig) -> None:
    text = "[openshell]\nversion = 1\ndriver = {}\n"
    path = write_config(text)

    assert _error(load, text) == (
        f"unknown key [openshell.driver] ({path}:3): did you mean 'drivers'?"
    )


def test_unknown_key_in_tls_table_is_error(
    load: Load, write_config: WriteConfig
) -> None:
    text = '[openshell.gateway.tls]\ncert_path = "/c"\nkey_pth = "/k"\n'
    path = write_config(text)

    assert _error(load, text) == (
        f"unknown key [openshell.gateway.tls] key_pth ({path}:3): "
        "did you mean 'key_path'?"
    )


def test_unknown_dotted_key_reports_its_line(
    load: Load, write_config: WriteConfig
) -> None:
    text = '[openshell]\nversion = 1\ngateway.log_levle = "info"\n'
    path = write_config(text)

    assert _error(load, text) == (
        f"unknown key [openshell.gateway] log_levle ({path}:3): "
        "did you mean 'log_level'?"
    )


def test_version_above_supported_is_error(
    load: Load, write_config: WriteConfig
) -> None:
    text = "[openshell]\nversion = 2\n"
    path = write_config(text)

    assert _error(load, text) == (
        f"unsupported config version 2 in {path}:2: this build supports version 1; "
        "upgrade openshell-gateway or write the file for version 1"
    )


def test_version_check_precedes_unknown_keys(
    load: Load, write_config: WriteConfig
) -> None:
    text = '[openshell]\nversion = 3\n[openshell.gateway]\nnew_key = "x"\n'
    path = write_config(text)

    assert _error(load, text).startswith(f"unsupported config version 3 in {path}:2")


@pytest.mark.parametrize("version", ["0", "1"])
def test_supported_versions_load(load: Load, version: str) -> None:
    config = load(f"[openshell]\nversion = {version}\n")

    assert config.warnings == ()


def test_version_must_be_integer(load: Load, write_config: WriteConfig) -> None:
    text = '[openshell]\nversion = "1"\n'
    path = write_config(text)

    assert _error(load, text) == (
        f"invalid value for [openshell] version ({path}:2): "
        "expected an integer, got a string"
    )


def test_database_url_in_file_is_error(load: Load, write_config: WriteConfig) -> None:
    text = '[openshell.gateway]\ndatabase_url = "postgresql://u:p@db/x"\n'
    path = write_config(text)

    message = _error(load, text)

    assert message == (
        f"[openshell.gateway] database_url ({path}:2) is not allowed in the config "
        "file because the database URL is a secret: set OPENSHELL_DB_URL or pass "
        "--db-url"
    )
    assert "u:p@db" not in message


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("disable_tls = 1", "expected a boolean, got an integer"),
        ("bind_address = 8080", "expected a string, got an integer"),
        ("compute_drivers = 'docker'", "expected a list of strings, got a string"),
        ("compute_drivers = ['docker', 2]", "expected a list of strings, got an array"),
        ("log_level = 1.5", "expected a string, got a float"),
        ("default_image = 1979-05-27", "expected a string, got a date or time"),
        ("tls = true", "expected a table, got a boolean"),
    ],
)
def test_wrong_value_type_is_error(
    load: Load, write_config: WriteConfig, line: str, expected: str
) -> None:
    text = f"[openshell.gateway]\n{line}\n"
    path = write_config(text)
    key = line.split(" ")[0]

    assert _error(load, text) == (
        f"invalid value for [openshell.gateway] {key} ({path}:2): {expected}"
    )


def test_gateway_must_be_table(load: Load, write_config: WriteConfig) -> None:
    text = "[openshell]\ngateway = 1\n"
    path = write_config(text)

    assert _error(load, text) == (
        f"invalid value for [openshell] gateway ({path}:2): "
        "expected a table, got an integer"
    )


def test_oidc_table_is_error(load: Load, write_config: WriteConfig) -> None:
    text = (
        "[openshell]\nversion = 1\n\n[openshell.gateway.oidc]\n"
        'issuer = "https://id.example"\n'
    )
    path = write_config(text)

    assert _error(load, text) == (
        "OIDC authentication is not supported yet: this gateway would not check "
        f"callers configured by [openshell.gateway.oidc] ({path}:4), so the API "
        "would be unprotected; remove the table"
    )


def test_mtls_auth_enabled_is_error(load: Load, write_config: WriteConfig) -> None:
    text = "[openshell.gateway.mtls_auth]\nenabled = true\n"
    path = write_config(text)

    assert _error(load, text) == (
        "mTLS user authentication is not supported yet: [openshell.gateway.mtls_auth]"
        f" enabled ({path}:2) is true, but this gateway would not map client "
        "certificates to users, so the API would be unprotected; set it to false "
        "or remove the table"
    )


@pytest.mark.parametrize(
    "text",
    [
        "[openshell.gateway.mtls_auth]\nenabled = false\n",
        "[openshell.gateway.mtls_auth]\n",
        "[openshell.gateway.auth]\nallow_unauthenticated_users = true\n",
        "[openshell.gateway.auth]\n",
    ],
)
def test_auth_settings_matching_this_gateway_load_silently(
    load: Load, text: str
) -> None:
    assert load(text).warnings == ()


def test_unknown_key_in_mtls_auth_is_error(
    load: Load, write_config: WriteConfig
) -> None:
    text = "[openshell.gateway.mtls_auth]\nenable = false\n"
    path = write_config(text)

    assert _error(load, text) == (
        f"unknown key [openshell.gateway.mtls_auth] enable ({path}:2): "
        "did you mean 'enabled'?"
    )


def test_unauthenticated_users_false_is_error(
    load: Load, write_config: WriteConfig
) -> None:
    text = "[openshell.gateway.auth]\nallow_unauthenticated_users = false\n"
    path = write_config(text)

    assert _error(load, text) == (
        f"[openshell.gateway.auth] allow_unauthenticated_users ({path}:2) is false, "
        "but this gateway cannot authenticate users yet and would accept every "
        "caller: set it to true or remove it"
    )


@pytest.mark.parametrize("key", sorted(IGNORED_GATEWAY_KEYS))
def test_upstream_gateway_key_warns_once(
    load: Load, write_config: WriteConfig, key: str
) -> None:
    text = f"[openshell.gateway]\n{key} = 1\nlog_level = 'info'\n"
    path = write_config(text)

    warnings = load(text).warnings

    assert len(warnings) == 1
    assert warnings[0].startswith(
        f"[openshell.gateway] {key} ({path}:2) has no effect in this gateway and "
        "is ignored"
    )


def test_upstream_table_warns_once_for_whole_table(
    load: Load, write_config: WriteConfig
) -> None:
    text = (
        "[openshell.gateway.gateway_jwt]\n"
        'signing_key_path = "a"\npublic_key_path = "b"\nttl_secs = 0\n'
        '[openshell.gateway.otlp]\nendpoint = "http://collector:4317"\n'
        "[[openshell.gateway.interceptors]]\nname = 'a'\n"
        "[[openshell.gateway.interceptors]]\nname = 'b'\n"
    )
    path = write_config(text)

    warnings = load(text).warnings

    assert warnings == (
        f"[openshell.gateway.gateway_jwt] ({path}:1) has no effect in this gateway "
        "and is ignored: sandbox identity tokens are unused without an in-sandbox "
        "supervisor",
        f"[openshell.gateway.otlp] ({path}:5) has no effect in this gateway and is "
        "ignored: trace export is not implemented",
        f"[[openshell.gateway.interceptors]] ({path}:7) has no effect in this "
        "gateway and is ignored",
    )


@pytest.mark.parametrize("table", ["supervisor", "credential_drivers"])
def test_upstream_root_table_warns_once(
    load: Load, write_config: WriteConfig, table: str
) -> None:
    text = f"[openshell.{table}.one]\na = 1\n[openshell.{table}.two]\nb = 2\n"
    path = write_config(text)

    warnings = load(text).warnings

    assert len(warnings) == 1
    assert warnings[0].startswith(
        f"[openshell.{table}] ({path}:1) has no effect in this gateway and is ignored"
    )


def test_every_upstream_key_together_warns_once_each(load: Load) -> None:
    lines = [f"{key} = 1" for key in IGNORED_GATEWAY_KEYS]
    text = "[openshell.gateway]\n" + "\n".join(lines) + "\n"

    warnings = load(text).warnings

    assert len(warnings) == len(IGNORED_GATEWAY_KEYS)
    for key, warning in zip(IGNORED_GATEWAY_KEYS, warnings, strict=True):
        assert warning.startswith(f"[openshell.gateway] {key} (")

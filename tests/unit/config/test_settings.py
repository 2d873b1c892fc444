"""`GatewayConfig.settings()`, the listing behind `config show`."""

from __future__ import annotations

import pytest

from openshell.config import CommandLine, Source
from openshell.config.gateway_config import mask_url

from .conftest import Load, WriteConfig

SETTING_NAMES = [
    "gateway.bind_address",
    "gateway.health_bind_address",
    "gateway.metrics_bind_address",
    "gateway.log_level",
    "gateway.compute_drivers",
    "gateway.default_image",
    "gateway.sandbox_namespace",
    "gateway.disable_tls",
    "gateway.tls",
    "database_url",
    "compute_driver_socket",
]


def test_settings_names_in_order(load: Load) -> None:
    names = [name for name, _ in load().settings()]

    assert names == SETTING_NAMES


def test_settings_spell_addresses_as_in_file(
    load: Load, write_config: WriteConfig
) -> None:
    text = '[openshell.gateway]\nbind_address = "[::1]:8443"\n'
    path = write_config(text)

    settings = dict(load(text, CommandLine(health_port=8444)).settings())

    assert settings["gateway.bind_address"].value == "[::1]:8443"
    assert settings["gateway.bind_address"].source == Source("file", f"{path}:2")
    assert settings["gateway.health_bind_address"].value == "[::1]:8444"
    assert settings["gateway.metrics_bind_address"].value is None


def test_settings_show_tls_files(load: Load) -> None:
    command_line = CommandLine(tls_cert="/c.pem", tls_key="/k.pem")

    settings = dict(load(command_line=command_line).settings())

    assert settings["gateway.tls"].value == {
        "cert_path": "/c.pem",
        "key_path": "/k.pem",
    }


def test_settings_mask_database_password(load: Load) -> None:
    env = {"OPENSHELL_DB_URL": "postgresql://gateway:s3cret@db:5432/openshell"}

    config = load(env=env)
    settings = dict(config.settings())

    assert (
        settings["database_url"].value == "postgresql://gateway:***@db:5432/openshell"
    )
    assert settings["database_url"].source == Source("env", "OPENSHELL_DB_URL")
    assert config.database_url.value == env["OPENSHELL_DB_URL"]


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("sqlite:/var/lib/openshell.db", "sqlite:/var/lib/openshell.db"),
        ("sqlite:///var/lib/openshell.db", "sqlite:///var/lib/openshell.db"),
        ("postgresql://gateway@db/openshell", "postgresql://gateway@db/openshell"),
        ("postgresql://u:p%40ss@db/x", "postgresql://u:***@db/x"),
        (
            "postgresql://db/x?user=u&password=secret&sslmode=require",
            "postgresql://db/x?user=u&password=***&sslmode=require",
        ),
    ],
)
def test_mask_url_hides_only_passwords(url: str, shown: str) -> None:
    assert mask_url(url) == shown


def test_source_strings() -> None:
    assert str(Source("flag", "--port")) == "flag --port"
    assert str(Source("env", "OPENSHELL_SERVER_PORT")) == "env OPENSHELL_SERVER_PORT"
    assert str(Source("file", "/etc/openshell/gateway.toml:12")) == (
        "/etc/openshell/gateway.toml:12"
    )
    assert str(Source("default", "built-in default")) == "default"

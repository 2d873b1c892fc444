"""Checks across settings after the merge: ports, TLS files, driver socket."""

from __future__ import annotations

from pathlib import Path

import pytest

from openshell.config import CommandLine, Source, TlsFiles, check_socket_path
from openshell.errors import ConfigError

from .conftest import Load, WriteConfig


def _error(load: Load, *args: object, **kwargs: object) -> str:
    with pytest.raises(ConfigError) as caught:
        load(*args, **kwargs)
    return str(caught.value)


def test_health_port_equal_to_main_port_is_error(load: Load) -> None:
    command_line = CommandLine(port=8080, health_port=8080)

    assert _error(load, command_line=command_line) == (
        "the health port 8080 (flag --health-port) is the same as the main port "
        "(flag --port, IP from default): give each listener its own port"
    )


def test_metrics_port_equal_to_health_port_is_error(
    load: Load, write_config: WriteConfig
) -> None:
    text = (
        "[openshell.gateway]\n"
        'health_bind_address = "127.0.0.1:9000"\n'
        'metrics_bind_address = "0.0.0.0:9000"\n'
    )
    path = write_config(text)

    assert _error(load, text) == (
        f"the metrics port 9000 ({path}:3) is the same as the health port "
        f"({path}:2): give each listener its own port"
    )


def test_metrics_port_clashes_with_default_port(load: Load) -> None:
    env = {"OPENSHELL_METRICS_PORT": "17670"}

    assert _error(load, env=env) == (
        "the metrics port 17670 (env OPENSHELL_METRICS_PORT) is the same as the "
        "main port (default): give each listener its own port"
    )


def test_distinct_ports_load(load: Load) -> None:
    command_line = CommandLine(port=8080, health_port=8081, metrics_port=8082)

    config = load(command_line=command_line)

    assert config.health_bind_address.value == ("127.0.0.1", 8081)
    assert config.metrics_bind_address.value == ("127.0.0.1", 8082)


def test_tls_table_without_key_is_error(load: Load, write_config: WriteConfig) -> None:
    text = '[openshell.gateway.tls]\ncert_path = "/etc/openshell/cert.pem"\n'
    path = write_config(text)

    assert _error(load, text) == (
        f"incomplete TLS settings: the certificate ([openshell.gateway.tls] "
        f"cert_path ({path}:2)) is set, but TLS needs both a certificate and a key; "
        "set the key with [openshell.gateway.tls] key_path, --tls-key or "
        "OPENSHELL_TLS_KEY"
    )


def test_empty_tls_table_is_error(load: Load, write_config: WriteConfig) -> None:
    text = "[openshell.gateway.tls]\n"
    path = write_config(text)

    assert _error(load, text) == (
        f"incomplete TLS settings: [openshell.gateway.tls] ({path}:1) is set, but "
        "TLS needs both a certificate and a key; set the certificate with "
        "[openshell.gateway.tls] cert_path, --tls-cert or OPENSHELL_TLS_CERT and "
        "the key with [openshell.gateway.tls] key_path, --tls-key or "
        "OPENSHELL_TLS_KEY"
    )


def test_client_ca_alone_is_error(load: Load) -> None:
    command_line = CommandLine(tls_client_ca="/ca.pem", tls_key="/key.pem")

    assert _error(load, command_line=command_line) == (
        "incomplete TLS settings: the key (flag --tls-key) and the client CA "
        "(flag --tls-client-ca) are set, but TLS needs both a certificate and a "
        "key; set the certificate with [openshell.gateway.tls] cert_path, "
        "--tls-cert or OPENSHELL_TLS_CERT"
    )


def test_tls_files_merge_key_by_key(load: Load, write_config: WriteConfig) -> None:
    text = (
        "[openshell.gateway.tls]\n"
        'cert_path = "/file/cert.pem"\n'
        'key_path = "/file/key.pem"\n'
        'client_ca_path = "/file/ca.pem"\n'
    )
    path = write_config(text)
    env = {"OPENSHELL_TLS_KEY": "/env/key.pem"}

    config = load(text, CommandLine(tls_cert="/flag/cert.pem"), env)

    assert config.tls.value == TlsFiles(
        cert_path=Path("/flag/cert.pem"),
        key_path=Path("/env/key.pem"),
        client_ca_path=Path("/file/ca.pem"),
    )
    assert config.tls.source == Source(
        "flag",
        f"--tls-cert, key_path from env OPENSHELL_TLS_KEY, "
        f"client_ca_path from {path}:4",
    )


def test_tls_from_variables(load: Load) -> None:
    env = {"OPENSHELL_TLS_CERT": "/c.pem", "OPENSHELL_TLS_KEY": "/k.pem"}

    config = load(env=env)

    assert config.tls.value == TlsFiles(Path("/c.pem"), Path("/k.pem"))
    assert config.tls.source == Source(
        "env", "OPENSHELL_TLS_CERT, key_path from env OPENSHELL_TLS_KEY"
    )
    assert config.warnings == ()


def test_empty_tls_path_is_error(load: Load) -> None:
    env = {"OPENSHELL_TLS_CERT": "", "OPENSHELL_TLS_KEY": "/k.pem"}

    assert _error(load, env=env) == (
        "empty TLS certificate path from env OPENSHELL_TLS_CERT: give a value or "
        "unset it"
    )


def test_disabled_tls_drops_files_with_warning(
    load: Load, write_config: WriteConfig
) -> None:
    text = (
        "[openshell.gateway]\ndisable_tls = true\n"
        '[openshell.gateway.tls]\ncert_path = "/c.pem"\nkey_path = "/k.pem"\n'
    )
    path = write_config(text)

    config = load(text)

    assert config.tls.value is None
    assert config.warnings == (
        f"the TLS files ({path}:4, key_path from {path}:5) are ignored because TLS "
        f"is disabled ({path}:2)",
    )


def test_half_tls_table_is_error_even_when_disabled(load: Load) -> None:
    text = '[openshell.gateway]\ndisable_tls = true\n[openshell.gateway.tls]\nkey_path = "/k"\n'

    assert _error(load, text).startswith("incomplete TLS settings: the key (")


def test_empty_compute_driver_socket_is_error(load: Load) -> None:
    command_line = CommandLine(compute_driver_socket="")

    assert _error(load, command_line=command_line) == (
        "empty socket path from flag --compute-driver-socket: give the absolute "
        "path of a Unix socket"
    )


def test_empty_compute_driver_socket_variable_is_error(load: Load) -> None:
    env = {"OPENSHELL_COMPUTE_DRIVER_SOCKET": ""}

    assert _error(load, env=env) == (
        "empty socket path from env OPENSHELL_COMPUTE_DRIVER_SOCKET: give the "
        "absolute path of a Unix socket"
    )


def test_relative_compute_driver_socket_is_error(load: Load) -> None:
    env = {"OPENSHELL_COMPUTE_DRIVER_SOCKET": "run/driver.sock"}

    assert _error(load, env=env) == (
        "socket path 'run/driver.sock' from env OPENSHELL_COMPUTE_DRIVER_SOCKET is "
        "not absolute: give an absolute path"
    )


def test_socket_path_over_limit_shows_length(load: Load) -> None:
    path = "/" + "s" * 107
    command_line = CommandLine(compute_driver_socket=path)

    assert _error(load, command_line=command_line) == (
        f"socket path {path!r} from flag --compute-driver-socket is 108 bytes "
        "long, but Unix socket paths on Linux are limited to 107 bytes: use a "
        "shorter path"
    )


def test_socket_path_at_limit_is_accepted() -> None:
    check_socket_path("/" + "s" * 106, "test")


def test_socket_path_length_counts_bytes() -> None:
    path = "/" + "é" * 54

    with pytest.raises(ConfigError) as caught:
        check_socket_path(path, "[openshell.drivers.foo] socket_path")

    assert "is 109 bytes long" in str(caught.value)


def test_socket_path_with_nul_is_error() -> None:
    with pytest.raises(ConfigError) as caught:
        check_socket_path("/run/a\0b", "flag --compute-driver-socket")

    assert str(caught.value) == (
        "invalid socket path '/run/a\\x00b' from flag --compute-driver-socket: "
        "it contains NUL"
    )

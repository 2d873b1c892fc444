"""Merging flags, variables, file and defaults, with provenance."""

from __future__ import annotations

from pathlib import Path

import pytest

from openshell.config import CommandLine, Source
from openshell.errors import ConfigError

from .conftest import Load, WriteConfig

FILE = """\
[openshell]
version = 1

[openshell.gateway]
bind_address = "10.0.0.1:9000"
health_bind_address = "10.0.0.1:9001"
metrics_bind_address = "10.0.0.1:9002"
log_level = "error"
compute_drivers = ["docker", "podman"]
default_image = "example/image:1"
sandbox_namespace = "team-a"
disable_tls = true
"""


def _file(path: Path, line: int) -> Source:
    return Source("file", f"{path}:{line}")


def test_defaults_without_any_source(load: Load, environ: dict[str, str]) -> None:
    config = load()
    state = Path(environ["HOME"]) / ".local/state/openshell/gateway"

    assert config.bind_address.value == ("127.0.0.1", 17670)
    assert config.health_bind_address.value is None
    assert config.metrics_bind_address.value is None
    assert config.log_level.value == "info"
    assert config.compute_drivers.value == ()
    assert config.drivers_from_launch is False
    assert config.default_image.value is None
    assert config.sandbox_namespace.value is None
    assert config.disable_tls.value is False
    assert config.tls.value is None
    assert config.database_url.value == f"sqlite:{state}/openshell.db"
    assert config.compute_driver_socket.value is None
    assert config.state_dir == state
    assert config.driver_tables == {}
    for _, setting in config.settings():
        assert setting.source == Source("default", "built-in default")


def test_state_dir_follows_xdg_state_home(load: Load, tmp_path: Path) -> None:
    config = load(env={"XDG_STATE_HOME": str(tmp_path / "state")})

    assert config.state_dir == tmp_path / "state/openshell/gateway"
    assert config.database_url.value == (
        f"sqlite:{tmp_path}/state/openshell/gateway/openshell.db"
    )


def test_file_values_carry_file_and_line(load: Load, write_config: WriteConfig) -> None:
    path = write_config(FILE)

    config = load(FILE)

    assert config.bind_address.value == ("10.0.0.1", 9000)
    assert config.bind_address.source == _file(path, 5)
    assert config.health_bind_address.value == ("10.0.0.1", 9001)
    assert config.health_bind_address.source == _file(path, 6)
    assert config.metrics_bind_address.value == ("10.0.0.1", 9002)
    assert config.metrics_bind_address.source == _file(path, 7)
    assert config.log_level.value == "error"
    assert config.log_level.source == _file(path, 8)
    assert config.compute_drivers.value == ("docker", "podman")
    assert config.compute_drivers.source == _file(path, 9)
    assert config.drivers_from_launch is False
    assert config.default_image.value == "example/image:1"
    assert config.default_image.source == _file(path, 10)
    assert config.sandbox_namespace.value == "team-a"
    assert config.sandbox_namespace.source == _file(path, 11)
    assert config.disable_tls.value is True
    assert config.disable_tls.source == _file(path, 12)


def test_variables_win_over_file(load: Load) -> None:
    env = {
        "OPENSHELL_BIND_ADDRESS": "10.0.0.2",
        "OPENSHELL_SERVER_PORT": "9100",
        "OPENSHELL_HEALTH_PORT": "9101",
        "OPENSHELL_METRICS_PORT": "9102",
        "OPENSHELL_LOG_LEVEL": "debug",
        "OPENSHELL_DRIVERS": "vm",
        "OPENSHELL_DISABLE_TLS": "false",
        "OPENSHELL_DB_URL": "postgresql://gateway@db/openshell",
        "OPENSHELL_COMPUTE_DRIVER_SOCKET": "/run/driver.sock",
    }

    config = load(FILE, env=env)

    assert config.bind_address.value == ("10.0.0.2", 9100)
    assert config.bind_address.source == Source(
        "env", "OPENSHELL_BIND_ADDRESS, port from env OPENSHELL_SERVER_PORT"
    )
    assert config.health_bind_address.value == ("10.0.0.2", 9101)
    assert config.health_bind_address.source == Source("env", "OPENSHELL_HEALTH_PORT")
    assert config.metrics_bind_address.value == ("10.0.0.2", 9102)
    assert config.metrics_bind_address.source == Source("env", "OPENSHELL_METRICS_PORT")
    assert config.log_level.value == "debug"
    assert config.log_level.source == Source("env", "OPENSHELL_LOG_LEVEL")
    assert config.compute_drivers.value == ("vm",)
    assert config.compute_drivers.source == Source("env", "OPENSHELL_DRIVERS")
    assert config.drivers_from_launch is True
    assert config.disable_tls.value is False
    assert config.disable_tls.source == Source("env", "OPENSHELL_DISABLE_TLS")
    assert config.database_url.value == "postgresql://gateway@db/openshell"
    assert config.database_url.source == Source("env", "OPENSHELL_DB_URL")
    assert config.compute_driver_socket.value == "/run/driver.sock"
    assert config.compute_driver_socket.source == Source(
        "env", "OPENSHELL_COMPUTE_DRIVER_SOCKET"
    )


def test_flags_win_over_variables_and_file(load: Load) -> None:
    env = {
        "OPENSHELL_BIND_ADDRESS": "10.0.0.2:9100",
        "OPENSHELL_SERVER_PORT": "9100",
        "OPENSHELL_HEALTH_PORT": "9101",
        "OPENSHELL_METRICS_PORT": "9102",
        "OPENSHELL_LOG_LEVEL": "debug",
        "OPENSHELL_DRIVERS": "vm",
        "OPENSHELL_DISABLE_TLS": "true",
        "OPENSHELL_DB_URL": "postgresql://gateway@db/openshell",
        "OPENSHELL_COMPUTE_DRIVER_SOCKET": "/run/driver.sock",
    }
    command_line = CommandLine(
        bind_address="10.0.0.3",
        port=9200,
        health_port=9201,
        metrics_port=9202,
        log_level="WARN",
        drivers=("kubernetes",),
        disable_tls=False,
        db_url="sqlite:/tmp/other.db",
        compute_driver_socket="/run/flag.sock",
    )

    config = load(FILE, command_line, env)

    assert config.bind_address.value == ("10.0.0.3", 9200)
    assert config.bind_address.source == Source(
        "flag", "--bind-address, port from flag --port"
    )
    assert str(config.bind_address.source) == (
        "flag --bind-address, port from flag --port"
    )
    assert config.health_bind_address.value == ("10.0.0.3", 9201)
    assert config.health_bind_address.source == Source("flag", "--health-port")
    assert config.metrics_bind_address.value == ("10.0.0.3", 9202)
    assert config.metrics_bind_address.source == Source("flag", "--metrics-port")
    assert config.log_level.value == "warning"
    assert config.log_level.source == Source("flag", "--log-level")
    assert config.compute_drivers.value == ("kubernetes",)
    assert config.compute_drivers.source == Source("flag", "--drivers")
    assert config.drivers_from_launch is True
    assert config.disable_tls.value is False
    assert config.disable_tls.source == Source("flag", "--disable-tls")
    assert config.database_url.value == "sqlite:/tmp/other.db"
    assert config.database_url.source == Source("flag", "--db-url")
    assert config.compute_driver_socket.value == "/run/flag.sock"
    assert config.compute_driver_socket.source == Source(
        "flag", "--compute-driver-socket"
    )


def test_bind_ip_and_port_from_different_sources(
    load: Load, write_config: WriteConfig
) -> None:
    path = write_config(FILE)

    config = load(FILE, CommandLine(port=9300))

    assert config.bind_address.value == ("10.0.0.1", 9300)
    assert config.bind_address.source == Source("flag", f"--port, IP from {path}:5")
    assert str(config.bind_address.source) == f"flag --port, IP from {path}:5"


def test_flag_ip_keeps_file_port(load: Load, write_config: WriteConfig) -> None:
    path = write_config(FILE)

    config = load(FILE, CommandLine(bind_address="0.0.0.0"))

    assert config.bind_address.value == ("0.0.0.0", 9000)
    assert config.bind_address.source == Source(
        "flag", f"--bind-address, port from {path}:5"
    )


def test_port_flag_with_default_ip(load: Load) -> None:
    config = load(command_line=CommandLine(port=8080))

    assert config.bind_address.value == ("127.0.0.1", 8080)
    assert str(config.bind_address.source) == "flag --port, IP from default"


def test_bind_address_variable_with_port(load: Load) -> None:
    config = load(env={"OPENSHELL_BIND_ADDRESS": "[::1]:8443"})

    assert config.bind_address.value == ("::1", 8443)
    assert config.bind_address.source == Source("env", "OPENSHELL_BIND_ADDRESS")


def test_server_port_beats_bind_address_port(load: Load) -> None:
    env = {"OPENSHELL_BIND_ADDRESS": "0.0.0.0:8080", "OPENSHELL_SERVER_PORT": "9090"}

    config = load(env=env)

    assert config.bind_address.value == ("0.0.0.0", 9090)


def test_health_port_flag_takes_main_ip(load: Load) -> None:
    command_line = CommandLine(bind_address="::", health_port=8081)

    config = load(command_line=command_line)

    assert config.health_bind_address.value == ("::", 8081)


def test_lists_replaced_whole_by_variable(load: Load) -> None:
    config = load(FILE, env={"OPENSHELL_DRIVERS": "vm"})

    assert config.compute_drivers.value == ("vm",)


def test_variable_equal_to_default_still_wins_over_file(
    load: Load, write_config: WriteConfig
) -> None:
    env = {
        "OPENSHELL_LOG_LEVEL": "info",
        "OPENSHELL_SERVER_PORT": "17670",
        "OPENSHELL_DISABLE_TLS": "false",
        "OPENSHELL_DRIVERS": "",
    }

    config = load(FILE, env=env)

    assert config.log_level.value == "info"
    assert config.log_level.source == Source("env", "OPENSHELL_LOG_LEVEL")
    assert config.bind_address.value == ("10.0.0.1", 17670)
    assert config.disable_tls.value is False
    assert config.compute_drivers.value == ()
    assert config.compute_drivers.source == Source("env", "OPENSHELL_DRIVERS")
    assert config.drivers_from_launch is True


def test_drivers_flags_are_comma_lists(load: Load) -> None:
    command_line = CommandLine(drivers=(" Docker ,podman", "my_driver", "docker"))

    config = load(command_line=command_line)

    assert config.compute_drivers.value == ("docker", "podman", "my_driver", "docker")


@pytest.mark.parametrize(
    ("level", "expected"),
    [
        ("TRACE", "trace"),
        ("Debug", "debug"),
        ("info", "info"),
        ("warn", "warning"),
        ("WARNING", "warning"),
        ("error", "error"),
        ("critical", "critical"),
    ],
)
def test_log_level_spellings(load: Load, level: str, expected: str) -> None:
    config = load(env={"OPENSHELL_LOG_LEVEL": level})

    assert config.log_level.value == expected


@pytest.mark.parametrize(
    ("word", "expected"),
    [("1", True), ("TRUE", True), ("yes", True), ("0", False), ("off", False)],
)
def test_disable_tls_variable_words(load: Load, word: str, expected: bool) -> None:
    config = load(env={"OPENSHELL_DISABLE_TLS": word})

    assert config.disable_tls.value is expected


def _error(load: Load, *args: object, **kwargs: object) -> str:
    with pytest.raises(ConfigError) as caught:
        load(*args, **kwargs)
    return str(caught.value)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"OPENSHELL_SERVER_PORT": "http"},
            "invalid port 'http' from env OPENSHELL_SERVER_PORT: "
            "expected an integer from 1 to 65535",
        ),
        (
            {"OPENSHELL_SERVER_PORT": "65536"},
            "invalid port '65536' from env OPENSHELL_SERVER_PORT: "
            "expected an integer from 1 to 65535",
        ),
        (
            {"OPENSHELL_HEALTH_PORT": "-1"},
            "invalid port '-1' from env OPENSHELL_HEALTH_PORT: "
            "expected an integer from 1 to 65535",
        ),
        (
            {"OPENSHELL_METRICS_PORT": ""},
            "invalid port '' from env OPENSHELL_METRICS_PORT: "
            "expected an integer from 1 to 65535",
        ),
        (
            {"OPENSHELL_BIND_ADDRESS": "localhost"},
            "invalid IP address 'localhost' from env OPENSHELL_BIND_ADDRESS: "
            "expected an address such as 127.0.0.1 or ::1",
        ),
        (
            {"OPENSHELL_BIND_ADDRESS": "[127.0.0.1]:8080"},
            "invalid address '[127.0.0.1]:8080' from env OPENSHELL_BIND_ADDRESS: "
            "expected IP:port such as 127.0.0.1:17670 or [::1]:17670",
        ),
        (
            {"OPENSHELL_BIND_ADDRESS": "0.0.0.0:0"},
            "invalid port in address '0.0.0.0:0' from env OPENSHELL_BIND_ADDRESS: "
            "expected an integer from 1 to 65535",
        ),
        (
            {"OPENSHELL_LOG_LEVEL": "verbose"},
            "invalid log level 'verbose' from env OPENSHELL_LOG_LEVEL: expected one "
            "of trace, debug, info, warning, error, critical (or warn)",
        ),
        (
            {"OPENSHELL_DISABLE_TLS": "maybe"},
            "invalid boolean 'maybe' from env OPENSHELL_DISABLE_TLS: "
            "expected true or false",
        ),
        (
            {"OPENSHELL_DB_URL": ""},
            "empty database URL from env OPENSHELL_DB_URL: give a value or unset it",
        ),
        (
            {"OPENSHELL_DRIVERS": "docker,my.driver"},
            "env OPENSHELL_DRIVERS: invalid compute driver name 'my.driver': use "
            "only letters, digits, '-' and '_'",
        ),
        (
            {"OPENSHELL_DRIVERS": "docker,,podman"},
            "env OPENSHELL_DRIVERS: invalid compute driver name '': a name must not "
            "be empty",
        ),
    ],
)
def test_bad_variable_names_variable_and_value(
    load: Load, env: dict[str, str], message: str
) -> None:
    assert _error(load, env=env) == message


@pytest.mark.parametrize(
    ("command_line", "message"),
    [
        (
            CommandLine(port=0),
            "invalid port 0 from flag --port: expected an integer from 1 to 65535",
        ),
        (
            CommandLine(health_port=70000),
            "invalid port 70000 from flag --health-port: "
            "expected an integer from 1 to 65535",
        ),
        (
            CommandLine(bind_address="127.0.0.1:80"),
            "invalid IP address '127.0.0.1:80' from flag --bind-address: "
            "expected an address such as 127.0.0.1 or ::1",
        ),
        (
            CommandLine(log_level="loud"),
            "invalid log level 'loud' from flag --log-level: expected one of "
            "trace, debug, info, warning, error, critical (or warn)",
        ),
        (
            CommandLine(drivers=("a b",)),
            "flag --drivers: invalid compute driver name 'a b': use only letters, "
            "digits, '-' and '_'",
        ),
    ],
)
def test_bad_flag_names_flag_and_value(
    load: Load, command_line: CommandLine, message: str
) -> None:
    assert _error(load, command_line=command_line) == message


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            'bind_address = "127.0.0.1"',
            "invalid address '127.0.0.1' from [openshell.gateway] bind_address "
            "({path}:2): expected IP:port such as 127.0.0.1:17670 or [::1]:17670",
        ),
        (
            'health_bind_address = "999.0.0.1:80"',
            "invalid address '999.0.0.1:80' from [openshell.gateway] "
            "health_bind_address ({path}:2): expected IP:port such as "
            "127.0.0.1:17670 or [::1]:17670",
        ),
        (
            'metrics_bind_address = "127.0.0.1:http"',
            "invalid port in address '127.0.0.1:http' from [openshell.gateway] "
            "metrics_bind_address ({path}:2): expected an integer from 1 to 65535",
        ),
        (
            'log_level = "chatty"',
            "invalid log level 'chatty' from [openshell.gateway] log_level "
            "({path}:2): expected one of trace, debug, info, warning, error, "
            "critical (or warn)",
        ),
        (
            'compute_drivers = ["docker", ""]',
            "[openshell.gateway] compute_drivers ({path}:2): invalid compute driver "
            "name '': a name must not be empty",
        ),
    ],
)
def test_bad_file_value_names_key_and_line(
    load: Load, write_config: WriteConfig, line: str, message: str
) -> None:
    text = f"[openshell.gateway]\n{line}\n"
    path = write_config(text)

    assert _error(load, text) == message.format(path=path)

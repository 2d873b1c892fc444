"""Driver tables: collection at load time and completion on selection."""

from __future__ import annotations

from typing import Any

import pytest

from openshell.config import (
    CommandLine,
    DriverConfigError,
    DriverTable,
    GatewayConfig,
    prepare_driver_table,
)
from openshell.errors import ConfigError

from .conftest import Load, WriteConfig

DOCKER_KEYS: dict[str, Any] = {
    "socket_path": None,
    "default_image": "community/base:latest",
    "sandbox_namespace": "default",
    "network_name": "openshell-docker",
}
DOCKER_UNUSED = frozenset({"supervisor_image", "grpc_endpoint", "network_name"})


def _prepare(
    config: GatewayConfig,
    name: str,
    keys: dict[str, Any] | None = None,
    unused: frozenset[str] = frozenset(),
    *,
    reserved: bool = True,
) -> tuple[dict[str, Any], list[str]]:
    return prepare_driver_table(
        config,
        name,
        config_keys=DOCKER_KEYS if keys is None else keys,
        unused_keys=unused,
        reserved=reserved,
    )


def test_driver_tables_are_keyed_by_normalized_name(
    load: Load, write_config: WriteConfig
) -> None:
    text = (
        "[openshell]\nversion = 1\n\n"
        '[openshell.drivers.Docker]\nsocket_path = "/run/docker.sock"\n'
        "[openshell.drivers.my-driver]\nnested = { a = 1 }\nitems = [1, 2]\n"
    )
    path = write_config(text)

    config = load(text)

    assert sorted(config.driver_tables) == ["docker", "my-driver"]
    docker = config.driver_tables["docker"]
    assert docker.values == {"socket_path": "/run/docker.sock"}
    assert docker.path == path
    assert docker.line_of("socket_path") == 5
    assert docker.where() == f"[openshell.drivers.docker] ({path}:4)"
    assert docker.where("socket_path") == (
        f"[openshell.drivers.docker] socket_path ({path}:5)"
    )
    custom = config.driver_tables["my-driver"]
    assert custom.values == {"nested": {"a": 1}, "items": [1, 2]}
    assert custom.line_of("nested.a") == 7


def test_two_spellings_of_one_driver_are_error(
    load: Load, write_config: WriteConfig
) -> None:
    text = "[openshell.drivers.docker]\na = 1\n[openshell.drivers.DOCKER]\nb = 2\n"
    path = write_config(text)

    with pytest.raises(ConfigError) as caught:
        load(text)

    assert str(caught.value) == (
        f"[openshell.drivers.docker] ({path}:1) and [openshell.drivers.DOCKER] "
        f"({path}:3) both configure driver 'docker': merge them into one table"
    )


def test_invalid_driver_table_name_is_error(
    load: Load, write_config: WriteConfig
) -> None:
    text = '[openshell.drivers."my.driver"]\nsocket_path = "/run/x.sock"\n'
    path = write_config(text)

    with pytest.raises(ConfigError) as caught:
        load(text)

    assert str(caught.value) == (
        f'[openshell.drivers."my.driver"] ({path}:1): invalid compute driver name '
        "'my.driver': use only letters, digits, '-' and '_'"
    )


def test_driver_entry_must_be_table(load: Load, write_config: WriteConfig) -> None:
    text = '[openshell.drivers]\ndocker = "yes"\n'
    path = write_config(text)

    with pytest.raises(ConfigError) as caught:
        load(text)

    assert str(caught.value) == (
        f"invalid value for [openshell.drivers] docker ({path}:2): "
        "expected a table, got a string"
    )


def test_broken_unselected_table_loads(load: Load) -> None:
    text = "[openshell.drivers.other]\nanything = [1, { deep = true }]\n"

    config = load(text)

    assert config.driver_tables["other"].values == {"anything": [1, {"deep": True}]}


def test_unknown_driver_key_suggests_closest(
    load: Load, write_config: WriteConfig
) -> None:
    text = '[openshell.drivers.docker]\nnetwork_nam = "n"\n'
    path = write_config(text)
    config = load(text)

    with pytest.raises(ConfigError) as caught:
        _prepare(config, "docker")

    assert str(caught.value) == (
        f"unknown key [openshell.drivers.docker] network_nam ({path}:2): "
        "did you mean 'network_name'?"
    )


def test_unknown_key_without_close_match_lists_keys(load: Load) -> None:
    config = load("[openshell.drivers.vm]\nzzz = 1\n")

    with pytest.raises(ConfigError) as caught:
        _prepare(config, "vm", {"vcpus": 2, "mem_mib": 2048})

    assert str(caught.value).endswith(": accepted keys are mem_mib, vcpus")


def test_unused_keys_warn_and_drop(load: Load, write_config: WriteConfig) -> None:
    text = (
        "[openshell.drivers.docker]\n"
        'supervisor_image = "s"\ngrpc_endpoint = "http://h:1"\nnetwork_name = "n"\n'
    )
    path = write_config(text)
    config = load(text)

    values, warnings = _prepare(config, "docker", unused=DOCKER_UNUSED)

    assert warnings == [
        f"[openshell.drivers.docker] supervisor_image ({path}:2) has no effect in "
        "this gateway and is ignored",
        f"[openshell.drivers.docker] grpc_endpoint ({path}:3) has no effect in "
        "this gateway and is ignored",
    ]
    assert "supervisor_image" not in values
    assert values["network_name"] == "n"


def test_defaults_fill_missing_keys(load: Load) -> None:
    config = load()

    values, warnings = _prepare(config, "docker")

    assert values == DOCKER_KEYS
    assert warnings == []


@pytest.mark.parametrize(
    ("name", "keys", "expected"),
    [
        (
            "kubernetes",
            {"namespace": "openshell", "default_image": "base"},
            {"namespace": "team-a", "default_image": "example/image:1"},
        ),
        (
            "docker",
            {"sandbox_namespace": "default", "default_image": "base"},
            {"sandbox_namespace": "team-a", "default_image": "example/image:1"},
        ),
        (
            "podman",
            {"sandbox_namespace": "default", "default_image": "base"},
            {"sandbox_namespace": "default", "default_image": "example/image:1"},
        ),
        ("vm", {"default_image": "base"}, {"default_image": "example/image:1"}),
    ],
)
def test_reserved_driver_inherits_gateway_keys(
    load: Load, name: str, keys: dict[str, Any], expected: dict[str, Any]
) -> None:
    text = (
        '[openshell.gateway]\ndefault_image = "example/image:1"\n'
        'sandbox_namespace = "team-a"\n'
    )
    config = load(text)

    values, _ = _prepare(config, name, keys)

    assert values == expected


def test_table_value_beats_inherited_value(load: Load) -> None:
    text = (
        '[openshell.gateway]\ndefault_image = "gateway/image"\n'
        '[openshell.drivers.docker]\ndefault_image = "table/image"\n'
    )
    config = load(text)

    values, _ = _prepare(config, "docker")

    assert values["default_image"] == "table/image"


def test_other_names_inherit_nothing(load: Load) -> None:
    config = load('[openshell.gateway]\ndefault_image = "gateway/image"\n')

    values, _ = _prepare(config, "my-driver", {"default_image": None}, reserved=False)

    assert values == {"default_image": None}


def test_reserved_flag_controls_inheritance(load: Load) -> None:
    config = load('[openshell.gateway]\ndefault_image = "gateway/image"\n')

    values, _ = _prepare(config, "docker", {"default_image": None}, reserved=False)

    assert values == {"default_image": None}


def test_socket_path_allowed_for_other_names(load: Load) -> None:
    config = load('[openshell.drivers.remote]\nsocket_path = "/run/remote.sock"\n')

    values, warnings = _prepare(config, "remote", {}, reserved=False)

    assert values == {"socket_path": "/run/remote.sock"}
    assert warnings == []


def test_socket_path_unknown_for_reserved_name_without_it(load: Load) -> None:
    config = load('[openshell.drivers.vm]\nsocket_path = "/run/vm.sock"\n')

    with pytest.raises(ConfigError) as caught:
        _prepare(config, "vm", {"vcpus": 2})

    assert str(caught.value).startswith(
        "unknown key [openshell.drivers.vm] socket_path ("
    )


def test_remote_socket_path_over_limit_is_error(
    load: Load, write_config: WriteConfig
) -> None:
    long_path = "/" + "r" * 120
    text = f'[openshell.drivers.remote]\nsocket_path = "{long_path}"\n'
    path = write_config(text)
    config = load(text)

    with pytest.raises(ConfigError) as caught:
        _prepare(config, "remote", {}, reserved=False)

    assert str(caught.value) == (
        f"socket path {long_path!r} from [openshell.drivers.remote] socket_path "
        f"({path}:2) is 121 bytes long, but Unix socket paths on Linux are limited "
        "to 107 bytes: use a shorter path"
    )


def test_remote_socket_path_must_be_string(load: Load) -> None:
    config = load("[openshell.drivers.remote]\nsocket_path = 5\n")

    with pytest.raises(ConfigError) as caught:
        _prepare(config, "remote", {}, reserved=False)

    assert "expected a string, got an integer" in str(caught.value)


def test_selected_driver_without_table_gets_defaults(load: Load) -> None:
    config = load(command_line=CommandLine(drivers=("docker",)))

    values, _ = _prepare(config, "docker")

    assert values["network_name"] == "openshell-docker"


def test_where_without_file_has_no_location() -> None:
    table = DriverTable("docker", {}, None)

    assert table.where() == "[openshell.drivers.docker]"
    assert table.where("socket_path") == "[openshell.drivers.docker] socket_path"
    assert table.line_of("socket_path") is None


def test_driver_config_error_keeps_key_and_message() -> None:
    error = DriverConfigError("image_pull_policy", "expected Always or Never")

    assert isinstance(error, ConfigError)
    assert error.key == "image_pull_policy"
    assert error.message == "expected Always or Never"
    assert str(error) == "image_pull_policy: expected Always or Never"

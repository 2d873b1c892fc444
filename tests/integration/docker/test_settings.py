"""Checks of the Docker driver's config table; no engine needed."""

from __future__ import annotations

from typing import Any

import pytest
from openshell_driver_docker.plugin import openshell_driver_validate_config
from openshell_driver_docker.settings import (
    CONFIG_DEFAULTS,
    DockerSettings,
    PullPolicy,
    check_known_keys,
)

from openshell.config import DriverConfigError


def test_defaults_fill_empty_table() -> None:
    checked = openshell_driver_validate_config({})

    assert checked == CONFIG_DEFAULTS
    assert checked["network_name"] == "openshell-docker"
    assert checked["sandbox_pids_limit"] == 2048
    assert checked["sandbox_namespace"] == "default"
    assert checked["socket_path"] is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", ""),
        ("ifnotpresent", "IfNotPresent"),
        ("ALWAYS", "Always"),
        (" Never ", "Never"),
    ],
)
def test_pull_policy_case_insensitive(raw: str, expected: str) -> None:
    checked = openshell_driver_validate_config({"image_pull_policy": raw})

    assert checked["image_pull_policy"] == expected


def test_settings_parse_values() -> None:
    settings = DockerSettings.from_table(
        {
            "socket_path": "/run/docker.sock",
            "image_pull_policy": "never",
            "sandbox_pids_limit": 0,
            "network_name": "none",
        }
    )

    assert settings.socket_path == "/run/docker.sock"
    assert settings.image_pull_policy is PullPolicy.NEVER
    assert settings.sandbox_pids_limit == 0
    assert settings.network_name == "none"


def test_empty_socket_path_means_unset() -> None:
    assert openshell_driver_validate_config({"socket_path": ""})["socket_path"] is None


@pytest.mark.parametrize(
    ("table", "key", "message"),
    [
        (
            {"image_pull_policy": "Sometimes"},
            "image_pull_policy",
            "invalid value 'Sometimes'; use \"\", IfNotPresent, Always or Never",
        ),
        (
            {"image_pull_policy": 1},
            "image_pull_policy",
            "must be a string, not int",
        ),
        (
            {"sandbox_pids_limit": -1},
            "sandbox_pids_limit",
            "must be 0 (the Docker default) or a positive limit, not -1",
        ),
        (
            {"sandbox_pids_limit": "10"},
            "sandbox_pids_limit",
            "must be an integer, not str",
        ),
        (
            {"sandbox_pids_limit": True},
            "sandbox_pids_limit",
            "must be an integer, not bool",
        ),
        (
            {"socket_path": "docker.sock"},
            "socket_path",
            "must be an absolute path to the Docker socket, not 'docker.sock'",
        ),
        (
            {"socket_path": 5},
            "socket_path",
            "must be a string, not int",
        ),
        (
            {"network_name": "-bad"},
            "network_name",
            "invalid Docker network name '-bad'; start with a letter or digit and "
            "use only letters, digits, '_', '.' and '-'",
        ),
        (
            {"sandbox_namespace": ""},
            "sandbox_namespace",
            "must not be empty",
        ),
        (
            {"default_image": ["a"]},
            "default_image",
            "must be a string, not list",
        ),
    ],
)
def test_invalid_values_name_key(table: dict[str, Any], key: str, message: str) -> None:
    with pytest.raises(DriverConfigError) as error:
        openshell_driver_validate_config(table)

    assert error.value.key == key
    assert error.value.message == message


def test_unknown_key_rejected() -> None:
    with pytest.raises(DriverConfigError) as error:
        check_known_keys({"socket_path": "/s", "bogus": 1})

    assert error.value.key == "bogus"
    assert error.value.message.startswith("unknown key; the known keys are ")


def test_upstream_keys_ignored() -> None:
    ignored = check_known_keys({"grpc_endpoint": "http://x", "supervisor_bin": "/b"})
    checked = openshell_driver_validate_config({"host_gateway_ip": "10.0.0.1"})

    assert ignored == ["grpc_endpoint", "supervisor_bin"]
    assert checked["host_gateway_ip"] == "10.0.0.1"

"""The `docker` entry point and its light plugin module."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points

import pytest
from openshell_driver_docker.plugin import openshell_driver_describe
from openshell_driver_docker.settings import CONFIG_DEFAULTS

# Prints the heavy modules that importing the plugin module loaded.
IMPORT_CHECK = """
import sys
import openshell_driver_docker.plugin
heavy = ("docker", "requests", "urllib3", "openshell_driver_docker.driver")
print(",".join(name for name in heavy if name in sys.modules))
"""


def test_entry_point_names_plugin_module() -> None:
    (entry_point,) = entry_points(group="openshell.compute_drivers", name="docker")

    assert entry_point.value == "openshell_driver_docker.plugin"
    assert entry_point.dist is not None
    assert entry_point.dist.name == "openshell-driver-docker"


@pytest.mark.slow
def test_plugin_import_stays_light() -> None:
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_CHECK],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def test_description_lists_keys() -> None:
    description = openshell_driver_describe()

    assert description.kind == "in-process"
    assert dict(description.config_keys) == CONFIG_DEFAULTS
    assert description.config_keys["image_pull_policy"] == ""
    assert description.config_keys["network_name"] == "openshell-docker"
    assert description.unused_keys == {
        "grpc_endpoint",
        "supervisor_bin",
        "supervisor_image",
        "guest_tls_ca",
        "guest_tls_cert",
        "guest_tls_key",
        "ssh_socket_path",
        "host_gateway_ip",
        "enable_bind_mounts",
    }
    assert not set(description.unused_keys) & set(description.config_keys)

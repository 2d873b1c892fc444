"""Real upstream gateway.toml files load with warnings only."""

from __future__ import annotations

from pathlib import Path

import pytest

from openshell.config import CommandLine, load_config

SAMPLES = Path(__file__).parents[2] / "data" / "upstream-configs"


def test_samples_are_present() -> None:
    names = sorted(path.name for path in SAMPLES.glob("*.toml"))

    assert names == ["deploy-docker.toml", "e2e-docker.toml", "e2e-podman.toml"]


def test_deploy_docker_loads_without_warnings(environ: dict[str, str]) -> None:
    path = SAMPLES / "deploy-docker.toml"

    config = load_config(CommandLine(config_path=str(path)), environ)

    assert config.warnings == ()
    assert config.bind_address.value == ("127.0.0.1", 8080)
    assert config.health_bind_address.value == ("127.0.0.1", 8081)
    assert config.compute_drivers.value == ("docker",)
    assert config.disable_tls.value is True
    assert config.driver_tables["docker"].values["sandbox_namespace"] == "openshell"


@pytest.mark.parametrize(
    ("name", "driver"), [("e2e-docker.toml", "docker"), ("e2e-podman.toml", "podman")]
)
def test_e2e_sample_warns_once_about_gateway_jwt(
    environ: dict[str, str], name: str, driver: str
) -> None:
    path = SAMPLES / name

    config = load_config(CommandLine(config_path=str(path)), environ)

    assert config.warnings == (
        f"[openshell.gateway.gateway_jwt] ({path}:16) has no effect in this gateway "
        "and is ignored: sandbox identity tokens are unused without an in-sandbox "
        "supervisor",
    )
    assert config.compute_drivers.value == (driver,)
    assert config.driver_tables[driver].line_of("default_image") == 24

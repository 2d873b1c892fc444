"""End to end: `openshell-gateway drivers list` with good, broken and clashing plugins."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.gateway import gateway_env, run_cli
from tests.support.plugins import (
    BROKEN_IMPORT,
    DESCRIBE_ONLY,
    install_memory_driver,
    install_plugin,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def site(tmp_path: Path) -> Path:
    site = install_memory_driver(tmp_path / "site")
    install_plugin(
        site,
        "openshell-driver-broken",
        entry_points={"broken": "dl_broken"},
        modules={"dl_broken.py": BROKEN_IMPORT},
    )
    return site


def drivers_list(site: Path, tmp_path: Path, *args: str) -> Any:
    env = gateway_env(tmp_path, PYTHONPATH=os.pathsep.join([str(site), *sys.path]))
    return run_cli("openshell-gateway", "drivers", "list", *args, env=env)


def by_name(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {row["name"]: row for row in rows}


def test_broken_plugin_listed_as_error(site: Path, tmp_path: Path) -> None:
    result = drivers_list(site, tmp_path, "--json")

    assert result.returncode == 0, result.stderr
    rows = by_name(json.loads(result.stdout)["drivers"])
    assert rows["broken"]["status"] == "error"
    assert rows["broken"]["reason"] == (
        "ImportError: the backend client library is missing"
    )
    assert rows["memory"]["status"] == "ok"
    assert rows["memory"]["kind"] == "managed"
    assert rows["docker"]["status"] == "ok"
    assert rows["docker"]["kind"] == "in-process"
    assert rows["docker"]["distribution"] == "openshell-driver-docker"


def test_table_shows_reason_when_verbose(site: Path, tmp_path: Path) -> None:
    result = drivers_list(site, tmp_path, "--verbose")

    assert result.returncode == 0, result.stderr
    broken_line = next(line for line in result.stdout.splitlines() if "broken" in line)
    assert "error" in broken_line
    assert "the backend client library is missing" in broken_line


def test_selected_column_follows_config(site: Path, tmp_path: Path) -> None:
    result = drivers_list(site, tmp_path, "--json", "--drivers", "memory")

    rows = by_name(json.loads(result.stdout)["drivers"])
    assert rows["memory"]["selected"] is True
    assert rows["docker"]["selected"] is False


def test_reserved_claim_shown_as_conflict(site: Path, tmp_path: Path) -> None:
    install_plugin(
        site,
        "evil-docker",
        entry_points={"docker": "dl_evil"},
        modules={"dl_evil.py": DESCRIBE_ONLY.format(summary="x", kind="managed")},
    )

    result = drivers_list(site, tmp_path, "--json")

    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)["drivers"]
    docker_rows = {row["distribution"]: row for row in rows if row["name"] == "docker"}
    assert docker_rows["evil-docker"]["status"] == "conflict"
    assert docker_rows["openshell-driver-docker"]["status"] == "ok"

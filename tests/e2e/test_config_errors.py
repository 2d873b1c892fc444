"""Every configuration and selection error: exact message, exit status 2.

Each case runs `openshell-gateway config check`, which makes every check
that `run` makes before it listens; `run` itself is checked for a sample.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.support.gateway import gateway_env, run_cli
from tests.support.plugins import BROKEN_IMPORT, DESCRIBE_ONLY, install_plugin

pytestmark = pytest.mark.slow

DOCKER_FILE = (
    '[openshell]\nversion = 1\n[openshell.gateway]\ncompute_drivers = ["docker"]\n'
)
LONG_SOCKET = "/" + "a" * 120

CASES = {
    "unknown key with line": (
        '[openshell]\nversion = 1\n[openshell.gateway]\nbind_adress = "127.0.0.1:1"\n',
        (),
        "unknown key [openshell.gateway] bind_adress (CONFIG:4): did you mean "
        "'bind_address'?",
    ),
    "version 2": (
        "[openshell]\nversion = 2\n",
        (),
        "unsupported config version 2 in CONFIG:2: this build supports version 1; "
        "upgrade openshell-gateway or write the file for version 1",
    ),
    "database_url in the file": (
        '[openshell.gateway]\ndatabase_url = "postgresql://u:p@h/db"\n',
        (),
        "[openshell.gateway] database_url (CONFIG:2) is not allowed in the config "
        "file because the database URL is a secret: set OPENSHELL_DB_URL or pass "
        "--db-url",
    ),
    "socket without --drivers": (
        DOCKER_FILE,
        ("--compute-driver-socket", "/run/driver.sock"),
        "the compute driver socket from flag --compute-driver-socket needs exactly "
        "one driver name from --drivers or OPENSHELL_DRIVERS; a compute_drivers "
        "list in the file does not count",
    ),
    "two names": (
        DOCKER_FILE,
        ("--drivers", "docker,podman"),
        "multiple compute drivers are not supported yet: docker, podman (flag "
        "--drivers); select exactly one",
    ),
    "a duplicate counts as two": (
        '[openshell.gateway]\ncompute_drivers = ["docker", " Docker "]\n',
        (),
        "multiple compute drivers are not supported yet: docker, docker "
        "(CONFIG:2); select exactly one",
    ),
    "empty socket path": (
        DOCKER_FILE,
        ("--drivers", "docker", "--compute-driver-socket", ""),
        "empty socket path from flag --compute-driver-socket: give the absolute "
        "path of a Unix socket",
    ),
    "socket path over 107 bytes": (
        DOCKER_FILE,
        ("--drivers", "docker", "--compute-driver-socket", LONG_SOCKET),
        f"socket path '{LONG_SOCKET}' from flag --compute-driver-socket is 121 bytes "
        "long, but Unix socket paths on Linux are limited to 107 bytes: use a "
        "shorter path",
    ),
    "non-reserved name without socket_path": (
        '[openshell.gateway]\ncompute_drivers = ["foo"]\n',
        (),
        "remote compute driver 'foo' requires socket_path in "
        "[openshell.drivers.foo]; installing openshell-driver-foo would also "
        "provide it (installed drivers: broken, docker, podman, shared)",
    ),
    "reserved driver not installed": (
        DOCKER_FILE,
        ("--drivers", "kubernetes"),
        "compute driver 'kubernetes' is not installed; install it with: pip "
        "install openshell-driver-kubernetes",
    ),
    "invalid name characters": (
        DOCKER_FILE,
        ("--drivers", "my.driver"),
        "flag --drivers: invalid compute driver name 'my.driver': use only "
        "letters, digits, '-' and '_'",
    ),
    "broken plugin selected": (
        DOCKER_FILE,
        ("--drivers", "broken"),
        "compute driver 'broken' cannot be used (error): ImportError: the backend "
        "client library is missing",
    ),
    "third-party plugin claiming a reserved name": (
        DOCKER_FILE,
        ("--drivers", "podman"),
        "compute driver 'podman' cannot be used (conflict): 'podman' is a reserved "
        "driver name that only openshell-driver-podman may register; "
        "impostor-podman 1.0 claims it",
    ),
    "two plugins with one name": (
        DOCKER_FILE,
        ("--drivers", "shared"),
        "compute driver 'shared' cannot be used (conflict): driver name 'shared' "
        "is registered by first-dist 1.0 and second-dist 1.0",
    ),
    "docker table with an unknown key": (
        DOCKER_FILE + '[openshell.drivers.docker]\nnetwork_nam = "none"\n',
        (),
        "unknown key [openshell.drivers.docker] network_nam (CONFIG:6): did you "
        "mean 'network_name'?",
    ),
}


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Broken, impostor and clashing plugins beside the installed ones."""
    site = tmp_path_factory.mktemp("site")
    managed = DESCRIBE_ONLY.format(summary="x", kind="managed")
    install_plugin(
        site,
        "openshell-driver-broken",
        entry_points={"broken": "ce_broken"},
        modules={"ce_broken.py": BROKEN_IMPORT},
    )
    install_plugin(
        site,
        "impostor-podman",
        entry_points={"podman": "ce_impostor"},
        modules={"ce_impostor.py": managed},
    )
    for dist, module in (("first-dist", "ce_first"), ("second-dist", "ce_second")):
        install_plugin(
            site,
            dist,
            entry_points={"shared": module},
            modules={f"{module}.py": managed},
        )
    return site


def config_check(
    tmp_path: Path, site: Path, text: str, *args: str
) -> tuple[int, str, Path]:
    config = tmp_path / "gateway.toml"
    config.write_text(text)
    env = gateway_env(tmp_path, PYTHONPATH=os.pathsep.join([str(site), *sys.path]))
    result = run_cli(
        "openshell-gateway", "config", "check", "--config", str(config), *args, env=env
    )
    return result.returncode, result.stderr, config


@pytest.mark.parametrize("case", CASES)
def test_config_error(case: str, tmp_path: Path, plugin_site: Path) -> None:
    text, args, expected = CASES[case]

    status, stderr, config = config_check(tmp_path, plugin_site, text, *args)

    assert status == 2
    assert stderr == f"error: {expected.replace('CONFIG', str(config))}\n"
    assert "Traceback" not in stderr


def test_broken_plugin_not_selected_is_harmless(
    tmp_path: Path, plugin_site: Path
) -> None:
    status, stderr, _ = config_check(tmp_path, plugin_site, DOCKER_FILE)

    assert status == 0, stderr
    assert stderr == ""


def test_run_fails_the_same_way(tmp_path: Path, plugin_site: Path) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text("[openshell]\nversion = 2\n")
    env = gateway_env(tmp_path)

    result = run_cli("openshell-gateway", "run", "--config", str(config), env=env)

    assert result.returncode == 2
    assert result.stderr.startswith("error: unsupported config version 2 in ")
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "state" / "openshell").exists()


def test_debug_level_shows_traceback(tmp_path: Path, plugin_site: Path) -> None:
    status, stderr, _ = config_check(
        tmp_path, plugin_site, "[openshell]\nversion = 2\n", "--log-level", "debug"
    )

    assert status != 0
    assert "Traceback" in stderr


UPSTREAM_CONFIGS = Path(__file__).parent.parent / "data" / "upstream-configs"


@pytest.mark.parametrize(
    ("name", "warnings"),
    [
        ("deploy-docker.toml", ["supervisor_image", "grpc_endpoint"]),
        ("e2e-docker.toml", ["gateway_jwt", "supervisor_image"]),
    ],
)
def test_upstream_docker_config_passes_with_warnings(
    name: str, warnings: list[str], tmp_path: Path
) -> None:
    config = UPSTREAM_CONFIGS / name
    env = gateway_env(tmp_path)

    result = run_cli(
        "openshell-gateway", "config", "check", "--config", str(config), env=env
    )

    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert all(line.startswith("warning: ") for line in lines)
    assert len(lines) == len(warnings)
    for key, line in zip(warnings, lines, strict=True):
        assert key in line
        assert "has no effect in this gateway and is ignored" in line


def test_fifo_config_rejected(tmp_path: Path) -> None:
    fifo = tmp_path / "gateway.toml"
    os.mkfifo(fifo)

    result = run_cli(
        "openshell-gateway", "config", "check", "--config", str(fifo), timeout=30
    )

    assert result.returncode == 2
    assert result.stderr == (
        f"error: cannot read config file {fifo} (from flag --config): not a "
        "regular file\n"
    )


def test_tls_file_not_pem_rejected(tmp_path: Path) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text(DOCKER_FILE)
    not_pem = tmp_path / "cert.txt"
    not_pem.write_text("hello\n")

    result = run_cli(
        "openshell-gateway",
        "config",
        "check",
        "--config",
        str(config),
        "--tls-cert",
        str(not_pem),
        "--tls-key",
        str(not_pem),
        env=gateway_env(tmp_path),
    )

    assert result.returncode == 2
    assert result.stderr.startswith(
        f"error: TLS certificate {not_pem} (flag --tls-cert"
    )
    assert result.stderr.endswith(
        "is not a PEM file: give a PEM-encoded file (it starts with '-----BEGIN ')\n"
    )

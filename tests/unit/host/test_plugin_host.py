"""Plugin discovery and isolated loading, with throwaway installed distributions."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from openshell.errors import PluginError
from openshell.host import PluginHost
from tests.support.plugins import (
    BAD_HOOK_SIGNATURE,
    BROKEN_IMPORT,
    DESCRIBE_ONLY,
    entry_points_in,
    install_plugin,
)

MakeHost = Callable[..., PluginHost]


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Path]:
    """A directory on sys.path for throwaway plugin distributions."""
    directory = tmp_path / "site"
    directory.mkdir()
    before = set(sys.modules)
    sys.path.insert(0, str(directory))
    yield directory
    sys.path.remove(str(directory))
    for name in set(sys.modules) - before:
        if name.startswith("tp_"):
            del sys.modules[name]


@pytest.fixture
def make_host(site: Path) -> MakeHost:
    """Build a fresh plugin host limited to the distributions in `site`."""

    def build(**environ: str) -> PluginHost:
        return PluginHost(entry_points_in(site), environ=environ)

    return build


def add_plugin(
    site: Path, distribution: str, name: str, module: str, source: str
) -> None:
    install_plugin(
        site,
        distribution,
        entry_points={name: module},
        modules={f"{module}.py": source},
    )


def good(summary: str = "test driver", kind: str = "managed") -> str:
    return DESCRIBE_ONLY.format(summary=summary, kind=kind)


def test_plugin_loads_ok(site: Path, make_host: MakeHost) -> None:
    add_plugin(
        site, "openshell-driver-alpha", "alpha", "tp_alpha", good("alpha driver")
    )

    entry = make_host().load("alpha")

    assert entry is not None
    assert entry.status == "ok"
    assert entry.description is not None
    assert entry.description.summary == "alpha driver"
    assert entry.package == "openshell-driver-alpha 1.0"


def test_broken_import_is_isolated(site: Path, make_host: MakeHost) -> None:
    add_plugin(site, "openshell-driver-alpha", "alpha", "tp_alpha", good())
    add_plugin(site, "openshell-driver-broken", "broken", "tp_broken", BROKEN_IMPORT)

    entries = {entry.name: entry for entry in make_host().load_all()}

    assert entries["alpha"].status == "ok"
    assert entries["broken"].status == "error"
    assert entries["broken"].reason == (
        "ImportError: the backend client library is missing"
    )


def test_selecting_broken_plugin_names_reason(site: Path, make_host: MakeHost) -> None:
    add_plugin(site, "openshell-driver-broken", "broken", "tp_broken", BROKEN_IMPORT)

    with pytest.raises(PluginError) as caught:
        make_host().require("broken")

    assert str(caught.value) == (
        "compute driver 'broken' cannot be used (error): "
        "ImportError: the backend client library is missing"
    )


def test_bad_hook_signature_is_error(site: Path, make_host: MakeHost) -> None:
    add_plugin(site, "openshell-driver-odd", "odd", "tp_odd", BAD_HOOK_SIGNATURE)

    entry = make_host().load("odd")

    assert entry is not None
    assert entry.status == "error"
    assert "PluginValidationError" in entry.reason
    assert "unexpected_argument" in entry.reason


def test_reserved_name_claim_is_conflict(site: Path, make_host: MakeHost) -> None:
    add_plugin(site, "evil-docker", "docker", "tp_evil", good())

    host = make_host()
    entry = host.load("docker")

    assert entry is not None
    assert entry.status == "conflict"
    assert entry.reason == (
        "'docker' is a reserved driver name that only openshell-driver-docker "
        "may register; evil-docker 1.0 claims it"
    )
    assert "tp_evil" not in sys.modules


def test_reserved_owner_used_despite_claimant(site: Path, make_host: MakeHost) -> None:
    add_plugin(site, "evil-docker", "docker", "tp_evil", good())
    add_plugin(site, "openshell-driver-docker", "docker", "tp_owner", good("owner"))

    entry = make_host().require("docker")

    assert entry.distribution == "openshell-driver-docker"
    assert entry.description is not None
    assert entry.description.summary == "owner"


def test_duplicate_name_conflicts_both(site: Path, make_host: MakeHost) -> None:
    add_plugin(site, "first-dist", "shared", "tp_first", good())
    add_plugin(site, "second-dist", "shared", "tp_second", good())

    host = make_host()
    statuses = [entry.status for entry in host.entries()]

    assert statuses == ["conflict", "conflict"]
    with pytest.raises(PluginError) as caught:
        host.require("shared")
    assert "first-dist 1.0 and second-dist 1.0" in str(caught.value)


def test_strict_switch_reraises(site: Path, make_host: MakeHost) -> None:
    add_plugin(site, "openshell-driver-broken", "broken", "tp_broken", BROKEN_IMPORT)

    with pytest.raises(ImportError, match="backend client library is missing"):
        make_host(OPENSHELL_STRICT_PLUGINS="1").load("broken")


def test_disabled_plugin_not_imported(site: Path, make_host: MakeHost) -> None:
    add_plugin(site, "openshell-driver-alpha", "alpha", "tp_alpha", good())

    entry = make_host(OPENSHELL_DISABLED_DRIVERS="alpha").load("alpha")

    assert entry is not None
    assert entry.status == "disabled"
    assert "tp_alpha" not in sys.modules


def test_missing_driver_names_package(make_host: MakeHost) -> None:
    with pytest.raises(PluginError) as caught:
        make_host().require("kubernetes")

    assert str(caught.value) == (
        "compute driver 'kubernetes' is not installed; install it with: "
        "pip install openshell-driver-kubernetes"
    )


def test_invalid_entry_point_name(site: Path, make_host: MakeHost) -> None:
    add_plugin(site, "dotted-dist", "my.driver", "tp_dotted", good())

    [entry] = make_host().entries()

    assert entry.status == "error"
    assert "invalid entry point name" in entry.reason


def test_entry_point_name_is_normalized(site: Path, make_host: MakeHost) -> None:
    add_plugin(site, "openshell-driver-upper", "Upper", "tp_upper", good())

    host = make_host()

    assert host.names() == ["upper"]
    assert host.require("upper").status == "ok"


def test_loading_one_leaves_others_unimported(site: Path, make_host: MakeHost) -> None:
    add_plugin(site, "openshell-driver-alpha", "alpha", "tp_alpha", good())
    add_plugin(site, "openshell-driver-beta", "beta", "tp_beta", good())

    make_host().load("alpha")

    assert "tp_alpha" in sys.modules
    assert "tp_beta" not in sys.modules


def test_hook_call_reaches_one_plugin(site: Path, make_host: MakeHost) -> None:
    add_plugin(site, "openshell-driver-alpha", "alpha", "tp_alpha", good("A"))
    add_plugin(site, "openshell-driver-beta", "beta", "tp_beta", good("B"))
    host = make_host()
    host.load_all()

    alpha = host.call("alpha", "openshell_driver_describe")
    beta = host.call("beta", "openshell_driver_describe")

    assert alpha.summary == "A"
    assert beta.summary == "B"

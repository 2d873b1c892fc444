"""Wall time of `openshell-gateway --help` and `drivers list` against `python -c pass`.

Each command runs ROUNDS times, interleaved so that machine load affects all
of them alike. The table gives the median and its ratio to the baseline
measured in the same run. Target: `drivers list` under 300 ms with the
in-tree plugins installed.

    .venv/bin/python bench/startup.py [--rounds 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
DRIVERS_LIST_TARGET_SECONDS = 0.300


def commands() -> dict[str, list[str]]:
    return {
        "python -c pass (baseline)": [sys.executable, "-c", "pass"],
        "openshell-gateway --help": [str(BIN / "openshell-gateway"), "--help"],
        "openshell-gateway drivers list": [
            str(BIN / "openshell-gateway"),
            "drivers",
            "list",
        ],
        "openshell --help": [str(BIN / "openshell"), "--help"],
    }


def time_once(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    arguments = parser.parse_args()

    with tempfile.TemporaryDirectory() as home:
        # An empty config home keeps a developer's own gateway.toml out of it.
        env = {**os.environ, "XDG_CONFIG_HOME": home, "XDG_STATE_HOME": home}
        table = commands()
        for argv in table.values():
            time_once(argv, env)  # warm the page cache and .pyc files
        samples: dict[str, list[float]] = {name: [] for name in table}
        for _ in range(arguments.rounds):
            for name, argv in table.items():
                samples[name].append(time_once(argv, env))

    medians = {name: statistics.median(values) for name, values in samples.items()}
    baseline = medians["python -c pass (baseline)"]
    print(f"{'command':<34} {'median ms':>10} {'ratio':>7}")
    for name, median in medians.items():
        print(f"{name:<34} {median * 1000:>10.1f} {median / baseline:>6.2f}x")
    drivers_list = medians["openshell-gateway drivers list"]
    verdict = "meets" if drivers_list < DRIVERS_LIST_TARGET_SECONDS else "misses"
    print(
        f"drivers list {verdict} the {DRIVERS_LIST_TARGET_SECONDS * 1000:.0f} ms "
        f"target ({drivers_list * 1000:.0f} ms, {arguments.rounds} rounds)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Command line shared by the backend modules: ``start``, ``stop`` and ``status``.

``start`` and ``status`` print the backend's settings as KEY=VALUE lines on
standard output, in a form that ``eval`` in a POSIX shell accepts. Logs go to
standard error. Exit codes: 0 on success, 1 on an error, 3 when ``status`` finds
the backend stopped (as in the LSB init script convention).
"""

import argparse
import logging
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from tests.backends.paths import BackendError

logger = logging.getLogger(__name__)

EXIT_STOPPED = 3


@dataclass(frozen=True)
class BackendCommands:
    """The operations of one backend, as used by the command line and the fixtures."""

    name: str
    start: Callable[[], Mapping[str, str]]
    stop: Callable[[], None]
    status: Callable[[], Mapping[str, str] | None]


def format_settings(settings: Mapping[str, str]) -> str:
    return "".join(f"{key}={value}\n" for key, value in settings.items())


def parse_settings(output: str) -> dict[str, str]:
    """Parse KEY=VALUE lines as printed by ``start`` and ``status``."""
    settings: dict[str, str] = {}
    for line in output.splitlines():
        key, separator, value = line.partition("=")
        if separator and key.isidentifier():
            settings[key] = value
    return settings


def main(commands: BackendCommands, argv: Sequence[str] | None = None) -> int:
    """Run one command of ``commands`` as given by ``argv``; return the exit code."""
    parser = argparse.ArgumentParser(
        prog=f"python -m tests.backends.{commands.name}",
        description=f"Start, stop or query the {commands.name} test backend.",
    )
    parser.add_argument("command", choices=("start", "stop", "status"))
    arguments = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format=f"{commands.name}: %(message)s", stream=sys.stderr
    )
    try:
        if arguments.command == "start":
            sys.stdout.write(format_settings(commands.start()))
        elif arguments.command == "stop":
            commands.stop()
        else:
            settings = commands.status()
            if settings is None:
                logger.info("%s is not running", commands.name)
                return EXIT_STOPPED
            sys.stdout.write(format_settings(settings))
    except (BackendError, RuntimeError, OSError) as error:
        logger.error("%s %s failed: %s", commands.name, arguments.command, error)
        return 1
    return 0

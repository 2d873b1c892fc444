"""The CLI edge: turn OpenShell errors into exit statuses without tracebacks."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import rich_click as click

from openshell.errors import ConfigError, OpenShellError

EXIT_RUNTIME_ERROR = 1
EXIT_USAGE_ERROR = 2


def fail(message: str, status: int) -> NoReturn:
    """Print `error: message` on stderr and exit with `status`."""
    click.echo(f"error: {message}", err=True)
    sys.exit(status)


@contextmanager
def error_edge(*, debug: bool) -> Iterator[None]:
    """Exit 2 on ConfigError and 1 on any other OpenShellError.

    With `debug`, the error propagates so its traceback is printed.
    """
    try:
        yield
    except OpenShellError as error:
        if debug:
            raise
        status = (
            EXIT_USAGE_ERROR if isinstance(error, ConfigError) else EXIT_RUNTIME_ERROR
        )
        fail(str(error), status)

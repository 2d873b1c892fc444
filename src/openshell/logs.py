"""Log set-up: loguru with key=value lines by default, JSON lines on request."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from loguru import logger

if TYPE_CHECKING:
    from loguru import Record

LOG_LEVELS = ("trace", "debug", "info", "warning", "error", "critical")


def _quote(value: object) -> str:
    text = str(value)
    if text and not any(c in text for c in ' "=\n\t'):
        return text
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def _key_value_format(record: Record) -> str:
    fields: dict[str, Any] = {
        "time": record["time"].strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3],
        "level": record["level"].name.lower(),
        "msg": record["message"],
        **record["extra"],
    }
    line = " ".join(f"{key}={_quote(value)}" for key, value in fields.items())
    # Braces are escaped because loguru formats the returned string again.
    line = line.replace("{", "{{").replace("}", "}}")
    return line + "\n{exception}"


def configure_logging(level: str, *, json: bool = False) -> None:
    """Send logs at `level` and above to stderr, as key=value or JSON lines."""
    logger.remove()
    normalized = level.upper()
    if normalized == "WARN":
        normalized = "WARNING"
    if json:
        logger.add(sys.stderr, level=normalized, serialize=True)
    else:
        logger.add(sys.stderr, level=normalized, format=_key_value_format)

"""Parsing and checking of single values: ports, addresses, levels, booleans.

Each function takes the raw text and `where`, a description of its source
such as "flag --port" or "[openshell.gateway] bind_address (/p/gateway.toml:3)",
and raises ConfigError naming both.
"""

from __future__ import annotations

import ipaddress
import re

from openshell.config.schema import (
    FALSE_WORDS,
    LOG_LEVEL_ALIASES,
    LOG_LEVELS,
    MAX_PORT,
    MIN_PORT,
    TRUE_WORDS,
)
from openshell.errors import ConfigError

Address = tuple[str, int]

_DIGITS = re.compile(r"[0-9]+")
_BRACKETED = re.compile(r"\[([^\]]*)\]:(.*)")
_PORT_RULE = f"expected an integer from {MIN_PORT} to {MAX_PORT}"
_ADDRESS_RULE = "expected IP:port such as 127.0.0.1:17670 or [::1]:17670"


def check_port(port: int, where: str) -> int:
    """Return the port when it lies in the valid range."""
    if not MIN_PORT <= port <= MAX_PORT:
        raise ConfigError(f"invalid port {port} from {where}: {_PORT_RULE}")
    return port


def parse_port(text: str, where: str) -> int:
    """Parse a port number written as decimal digits."""
    if not _DIGITS.fullmatch(text) or not MIN_PORT <= int(text) <= MAX_PORT:
        raise ConfigError(f"invalid port {text!r} from {where}: {_PORT_RULE}")
    return int(text)


def parse_ip(text: str, where: str) -> str:
    """Parse an IPv4 or IPv6 address and return its canonical spelling."""
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise ConfigError(
            f"invalid IP address {text!r} from {where}: "
            "expected an address such as 127.0.0.1 or ::1"
        ) from None


def parse_address(text: str, where: str) -> Address:
    """Parse `IP:port`, with brackets around an IPv6 address."""
    bracketed = _BRACKETED.fullmatch(text)
    if bracketed:
        host, port_text = bracketed[1], bracketed[2]
        valid_host = _is_ip(host, version=6)
    else:
        host, _, port_text = text.rpartition(":")
        valid_host = _is_ip(host, version=4)
    if not valid_host:
        raise ConfigError(f"invalid address {text!r} from {where}: {_ADDRESS_RULE}")
    if not _DIGITS.fullmatch(port_text) or not MIN_PORT <= int(port_text) <= MAX_PORT:
        raise ConfigError(
            f"invalid port in address {text!r} from {where}: {_PORT_RULE}"
        )
    return str(ipaddress.ip_address(host)), int(port_text)


def parse_ip_or_address(text: str, where: str) -> tuple[str, int | None]:
    """Parse either a bare IP address or `IP:port`; the port is None when absent."""
    if _is_ip(text, version=None):
        return str(ipaddress.ip_address(text)), None
    if ":" in text:
        return parse_address(text, where)
    return parse_ip(text, where), None


def _is_ip(text: str, *, version: int | None) -> bool:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return False
    return version is None or address.version == version


def format_address(address: Address) -> str:
    """Spell an address as `IP:port`, with brackets around IPv6."""
    host, port = address
    if ":" in host:
        return f"[{host}]:{port}"
    return f"{host}:{port}"


def parse_log_level(text: str, where: str) -> str:
    """Return the canonical lower-case level for any accepted spelling."""
    level = text.strip().lower()
    level = LOG_LEVEL_ALIASES.get(level, level)
    if level not in LOG_LEVELS:
        raise ConfigError(
            f"invalid log level {text!r} from {where}: expected one of "
            f"{', '.join(LOG_LEVELS)} (or warn)"
        )
    return level


def parse_bool(text: str, where: str) -> bool:
    """Parse a boolean variable such as `true`, `false`, `1` or `0`."""
    word = text.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ConfigError(f"invalid boolean {text!r} from {where}: expected true or false")


def require_text(text: str, description: str, where: str) -> str:
    """Return the text unless it is blank; `description` names it in the error."""
    if not text.strip():
        raise ConfigError(f"empty {description} from {where}: give a value or unset it")
    return text

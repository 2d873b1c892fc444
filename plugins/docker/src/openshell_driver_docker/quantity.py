"""Kubernetes quantity strings (`500m`, `2`, `256Mi`, `1G`, `1e3`) for Docker limits."""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation

_QUANTITY = re.compile(r"([+-]?)(\d+(?:\.\d*)?|\.\d+)(.*)")
_EXPONENT = re.compile(r"[eE]([+-]?\d+)")

_BINARY_SUFFIXES = {
    "Ki": 1024,
    "Mi": 1024**2,
    "Gi": 1024**3,
    "Ti": 1024**4,
    "Pi": 1024**5,
    "Ei": 1024**6,
}
_DECIMAL_SUFFIXES = {
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "": Decimal(1),
    "k": Decimal("1e3"),
    # Kubernetes spells kilo "k"; upstream's Docker driver also takes "K".
    "K": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
}

NANO_CPUS_PER_CPU = 10**9


def parse_quantity(text: str) -> Decimal:
    """Return the exact value of a quantity, or raise ValueError."""
    match = _QUANTITY.fullmatch(text.strip())
    if match is None:
        raise ValueError(text)
    sign, number, suffix = match.groups()

    try:
        value = Decimal(number)
    except InvalidOperation:
        raise ValueError(text) from None

    if suffix in _BINARY_SUFFIXES:
        value *= _BINARY_SUFFIXES[suffix]
    elif suffix in _DECIMAL_SUFFIXES:
        value *= _DECIMAL_SUFFIXES[suffix]
    else:
        exponent = _EXPONENT.fullmatch(suffix)
        if exponent is None:
            raise ValueError(text)
        value = value.scaleb(int(exponent.group(1)))
    return -value if sign == "-" else value


def cpu_limit_to_nano_cpus(text: str) -> int:
    """Convert a CPU limit to Docker's NanoCPUs, rounding up; raise ValueError.

    The value must be greater than zero.
    """
    cpus = parse_quantity(text)
    if cpus <= 0:
        raise ValueError(text)
    return math.ceil(cpus * NANO_CPUS_PER_CPU)


def memory_limit_to_bytes(text: str) -> int:
    """Convert a memory limit to bytes, rounding up; raise ValueError.

    The value must be greater than zero.
    """
    size = parse_quantity(text)
    if size <= 0:
        raise ValueError(text)
    return math.ceil(size)

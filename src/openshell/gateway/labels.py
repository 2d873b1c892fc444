"""Kubernetes label syntax and the label selectors of ListSandboxes.

Messages match upstream OpenShell, which follows the Kubernetes rules. A key
is an optional DNS-subdomain prefix and `/`, then a name of at most 63
characters. A value is empty or at most 63 characters. Lengths are counted in
bytes, and "alphanumeric" includes non-ASCII letters and digits, as in
upstream.
"""

from __future__ import annotations

import re

from openshell.gateway import constants as c
from openshell.gateway.errors import ApiError

_LABEL_PREFIX_CHARACTERS = re.compile(r"[a-z0-9.-]*")


def _is_label_character(character: str) -> bool:
    return character.isalnum() or character in "-_."


def validate_label_key(key: str) -> None:
    """Check a Kubernetes label key: optional DNS-subdomain prefix, then a name."""
    if not key:
        raise ApiError.invalid_argument("label key cannot be empty")
    if len(key.encode()) > c.MAX_LABEL_KEY_LEN:
        raise ApiError.invalid_argument(
            f"label key exceeds {c.MAX_LABEL_KEY_LEN} characters: '{key}'"
        )
    prefix, slash, name = key.partition("/")
    if not slash:
        prefix, name = "", key

    if not name:
        raise ApiError.invalid_argument(
            f"label key name segment cannot be empty: '{key}'"
        )
    if len(name.encode()) > c.MAX_LABEL_NAME_LEN:
        raise ApiError.invalid_argument(
            f"label key name segment exceeds {c.MAX_LABEL_NAME_LEN} characters: '{key}'"
        )
    if not all(_is_label_character(character) for character in name):
        raise ApiError.invalid_argument(
            "label key name segment contains invalid characters (must be "
            f"alphanumeric, '-', '_', or '.'): '{key}'"
        )
    if not name[0].isalnum():
        raise ApiError.invalid_argument(
            f"label key name segment must start with alphanumeric character: '{key}'"
        )
    if not name[-1].isalnum():
        raise ApiError.invalid_argument(
            f"label key name segment must end with alphanumeric character: '{key}'"
        )
    if slash:
        _validate_label_prefix(prefix, key)


def _validate_label_prefix(prefix: str, key: str) -> None:
    if not prefix:
        raise ApiError.invalid_argument(
            f"label key prefix cannot be empty when '/' is present: '{key}'"
        )
    if len(prefix.encode()) > c.MAX_LABEL_PREFIX_LEN:
        raise ApiError.invalid_argument(
            f"label key prefix exceeds {c.MAX_LABEL_PREFIX_LEN} characters: '{key}'"
        )
    if not _LABEL_PREFIX_CHARACTERS.fullmatch(prefix):
        raise ApiError.invalid_argument(
            "label key prefix must be a DNS subdomain (lowercase alphanumeric, "
            f"'-', '.'): '{key}'"
        )
    if prefix[0] in "-." or prefix[-1] in "-.":
        raise ApiError.invalid_argument(
            f"label key prefix cannot start or end with '-' or '.': '{key}'"
        )
    if ".." in prefix:
        raise ApiError.invalid_argument(
            f"label key prefix cannot contain consecutive dots: '{key}'"
        )


def validate_label_value(value: str) -> None:
    """Check a Kubernetes label value; empty is allowed."""
    if not value:
        return
    if len(value.encode()) > c.MAX_LABEL_VALUE_LEN:
        raise ApiError.invalid_argument(
            f"label value exceeds {c.MAX_LABEL_VALUE_LEN} characters: '{value}'"
        )
    if not all(_is_label_character(character) for character in value):
        raise ApiError.invalid_argument(
            "label value contains invalid characters (must be alphanumeric, '-', "
            f"'_', or '.'): '{value}'"
        )
    if not value[0].isalnum():
        raise ApiError.invalid_argument(
            f"label value must start with alphanumeric character: '{value}'"
        )
    if not value[-1].isalnum():
        raise ApiError.invalid_argument(
            f"label value must end with alphanumeric character: '{value}'"
        )


def parse_label_selector(selector: str) -> list[tuple[str, str]]:
    """Parse `key1=value1,key2=value2` into the pairs that must all match.

    White space around pairs, keys and values is trimmed, empty pairs are
    skipped and a value may be empty. Raises `INVALID_ARGUMENT` for a
    malformed pair, an invalid key or value, or more than 64 pairs.
    """
    pairs: list[tuple[str, str]] = []
    count = 0
    for raw_pair in selector.split(","):
        pair = raw_pair.strip()
        if not pair:
            continue
        count += 1
        if count > c.MAX_LABEL_SELECTOR_PAIRS:
            raise ApiError.invalid_argument(
                f"label selector exceeds {c.MAX_LABEL_SELECTOR_PAIRS} pair limit"
            )
        key, equals, value = pair.partition("=")
        if not equals:
            raise ApiError.invalid_argument(
                f"invalid label selector: expected 'key=value', got '{pair}'"
            )
        key = key.strip()
        value = value.strip()
        if not key:
            raise ApiError.invalid_argument(
                f"invalid label selector: key cannot be empty in '{pair}'"
            )
        validate_label_key(key)
        validate_label_value(value)
        pairs.append((key, value))
    return pairs

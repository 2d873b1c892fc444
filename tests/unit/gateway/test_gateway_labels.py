"""Label key and value syntax, and ListSandboxes label selectors."""

from __future__ import annotations

import grpc
import pytest

from openshell.gateway.errors import ApiError
from openshell.gateway.labels import (
    parse_label_selector,
    validate_label_key,
    validate_label_value,
)


def message_of(call: object, *arguments: str) -> str:
    with pytest.raises(ApiError) as raised:
        call(*arguments)  # type: ignore[operator]
    assert raised.value.code == grpc.StatusCode.INVALID_ARGUMENT
    return raised.value.message


@pytest.mark.parametrize(
    "key", ["app", "a", "app.kubernetes.io/name", "example.com/my_label-1", "A.b"]
)
def test_valid_keys(key: str) -> None:
    validate_label_key(key)


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("", "label key cannot be empty"),
        ("p" * 250 + "/name", f"label key exceeds 253 characters: '{'p' * 250}/name'"),
        ("example.com/", "label key name segment cannot be empty: 'example.com/'"),
        ("n" * 64, f"label key name segment exceeds 63 characters: '{'n' * 64}'"),
        (
            "a b",
            "label key name segment contains invalid characters (must be "
            "alphanumeric, '-', '_', or '.'): 'a b'",
        ),
        ("_a", "label key name segment must start with alphanumeric character: '_a'"),
        ("a.", "label key name segment must end with alphanumeric character: 'a.'"),
        ("/a", "label key prefix cannot be empty when '/' is present: '/a'"),
        (
            "Example.com/a",
            "label key prefix must be a DNS subdomain (lowercase alphanumeric, '-', "
            "'.'): 'Example.com/a'",
        ),
        (
            ".example.com/a",
            "label key prefix cannot start or end with '-' or '.': '.example.com/a'",
        ),
        (
            "example..com/a",
            "label key prefix cannot contain consecutive dots: 'example..com/a'",
        ),
    ],
)
def test_invalid_keys(key: str, message: str) -> None:
    assert message_of(validate_label_key, key) == message


@pytest.mark.parametrize("value", ["", "v", "v1.2_3-x", "x" * 63])
def test_valid_values(value: str) -> None:
    validate_label_value(value)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("x" * 64, f"label value exceeds 63 characters: '{'x' * 64}'"),
        (
            "a/b",
            "label value contains invalid characters (must be alphanumeric, '-', "
            "'_', or '.'): 'a/b'",
        ),
        ("-a", "label value must start with alphanumeric character: '-a'"),
        ("a_", "label value must end with alphanumeric character: 'a_'"),
    ],
)
def test_invalid_values(value: str, message: str) -> None:
    assert message_of(validate_label_value, value) == message


def test_selector_parsed_and_trimmed() -> None:
    assert parse_label_selector(" app = web , tier=, ") == [
        ("app", "web"),
        ("tier", ""),
    ]


def test_selector_empty() -> None:
    assert parse_label_selector("") == []
    assert parse_label_selector(" , ,") == []


def test_selector_value_may_contain_equals_split_once() -> None:
    assert message_of(parse_label_selector, "a=b=c") == (
        "label value contains invalid characters (must be alphanumeric, '-', "
        "'_', or '.'): 'b=c'"
    )


def test_selector_missing_equals() -> None:
    assert message_of(parse_label_selector, "app=web, tier") == (
        "invalid label selector: expected 'key=value', got 'tier'"
    )


def test_selector_empty_key() -> None:
    assert message_of(parse_label_selector, " =web") == (
        "invalid label selector: key cannot be empty in '=web'"
    )


def test_selector_pair_limit() -> None:
    at_limit = ",".join(f"k{i}=v" for i in range(64))
    over_limit = at_limit + ",k64=v"

    assert len(parse_label_selector(at_limit)) == 64
    assert message_of(parse_label_selector, over_limit) == (
        "label selector exceeds 64 pair limit"
    )

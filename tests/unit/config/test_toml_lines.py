"""TOML parsing equal to tomllib, and the line index used for provenance."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from openshell.config.document import parse_toml
from openshell.config.toml_lines import KeyPath, index_key_lines
from openshell.errors import ConfigError

VALID_DOCUMENTS: dict[str, tuple[str, dict[KeyPath, int]]] = {
    "out_of_order_tables": (
        "[a.b.c]\nx = 1\n[a]\ny = 2\n[a.b]\nz = 3\n",
        {
            ("a", "b", "c"): 1,
            ("a", "b", "c", "x"): 2,
            ("a", "y"): 4,
            ("a", "b", "z"): 6,
        },
    ),
    "quoted_and_dotted_keys": (
        '"quoted key" = 1\n\'literal.key\' = 2\na . "b.c" . d = 3\n'
        '"esc\\"aped\\u00e9" = 4\n',
        {
            ("quoted key",): 1,
            ("literal.key",): 2,
            ("a", "b.c", "d"): 3,
            ('esc"apedé',): 4,
        },
    ),
    "multiline_strings_hide_keys": (
        's = """\nx = 1\n[not_a_table]\n"""\n'
        "t = '''\ny = 2 '''\n"
        'u = """ends with quotes"""""\n'
        "v = 1\n",
        {("s",): 1, ("t",): 5, ("u",): 7, ("v",): 8},
    ),
    "arrays_across_lines": (
        'arr = [\n  "a]#", # comment ]\n  [1, 2],\n  { k = "}" },\n]\nnext = 2\n',
        {
            ("arr",): 1,
            ("arr", 0): 2,
            ("arr", 1): 3,
            ("arr", 1, 1): 3,
            ("arr", 2, "k"): 4,
            ("next",): 6,
        },
    ),
    "arrays_of_tables": (
        '[[srv]]\nname = "a"\n[srv.opts]\nx = 1\n'
        '[[srv]]\nname = "b"\n[[srv.ports]]\np = 1\n[[srv.ports]]\np = 2\n',
        {
            ("srv",): 1,
            ("srv", 0): 1,
            ("srv", 0, "name"): 2,
            ("srv", 0, "opts", "x"): 4,
            ("srv", 1): 5,
            ("srv", 1, "name"): 6,
            ("srv", 1, "ports", 0, "p"): 8,
            ("srv", 1, "ports", 1, "p"): 10,
        },
    ),
    "crlf_tabs_and_comments": (
        "# head\r\n[a]\t# table\r\n\tx\t=\t1 # one\r\n\r\ny = 2\r\n",
        {("a",): 2, ("a", "x"): 3, ("a", "y"): 5},
    ),
    "nested_inline_tables": (
        "point = { x = 1, y = { z = 2 } }\nafter = 'x'\n",
        {("point", "y", "z"): 1, ("after",): 2},
    ),
    "dates_with_spaces": (
        "d = 1979-05-27 07:32:00Z\nt = 07:32:00\nn = 1\n",
        {("d",): 1, ("t",): 2, ("n",): 3},
    ),
    "strings_with_escapes": (
        "p = 'C:\\path\\'\n"
        's = "a \\" # b"\n'
        'm = """a \\""" b"""\n'
        'c = """one \\\n   two"""\n'
        "q = 1\n",
        {("p",): 1, ("s",): 2, ("m",): 3, ("c",): 4, ("q",): 6},
    ),
    "spaced_headers": (
        "[ a . b ]\nx = 1\n[[ c . d ]]\ny = 2\n",
        {("a", "b", "x"): 2, ("c", "d", 0, "y"): 4},
    ),
    "keys_like_other_types": (
        "1234 = 1\ntrue = 2\n3.14 = 3\n-inf = 4\n",
        {("1234",): 1, ("true",): 2, ("3", "14"): 3, ("-inf",): 4},
    ),
    "trailing_comma_and_empty_values": (
        'a = [1, 2,]\nb = []\nc = {}\nd = ""\ne = \'\'\nf = """"""\ng = 0\n',
        {("a", 1): 1, ("b",): 2, ("c",): 3, ("d",): 4, ("f",): 6, ("g",): 7},
    ),
    "gateway_spread_over_dotted_keys": (
        '[openshell]\nversion = 1\ngateway.log_level = "debug"\n'
        '[openshell.gateway.tls]\ncert_path = "/c"\n',
        {
            ("openshell", "gateway"): 3,
            ("openshell", "gateway", "log_level"): 3,
            ("openshell", "gateway", "tls"): 4,
            ("openshell", "gateway", "tls", "cert_path"): 5,
        },
    ),
}

REJECTED_DOCUMENTS = {
    "table_defined_twice": "[a]\nx = 1\n[a]\ny = 2\n",
    "key_defined_twice": "a = 1\na = 2\n",
    "value_redefined_as_table": "[a]\nb = 1\n[a.b]\nc = 2\n",
    "dotted_table_redefined_by_header": "[a]\nb.c = 1\n[a.b]\nd = 2\n",
    "inline_table_extended": "a = { b = 1 }\n[a.c]\nd = 2\n",
    "static_array_extended": "a = [1]\n[[a]]\n",
    "newline_in_inline_table": "t = { a = 1,\n b = 2 }\n",
    "empty_array_element": "x = [,]\n",
    "unterminated_string": 'x = "abc\n',
    "bare_value": "x = abc\n",
}


def _leaf_paths(node: Any, prefix: KeyPath = ()) -> Iterator[KeyPath]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            yield from _leaf_paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _leaf_paths(value, (*prefix, index))
    else:
        yield prefix


@pytest.mark.parametrize("name", sorted(VALID_DOCUMENTS))
def test_valid_document_parses_as_tomllib(name: str) -> None:
    text, _ = VALID_DOCUMENTS[name]

    assert parse_toml(text, Path("doc.toml")) == tomllib.loads(text)


@pytest.mark.parametrize("name", sorted(VALID_DOCUMENTS))
def test_line_index_has_expected_lines(name: str) -> None:
    text, expected = VALID_DOCUMENTS[name]

    lines = index_key_lines(text)

    for path, line in expected.items():
        assert (path, lines.get(path)) == (path, line)


@pytest.mark.parametrize("name", sorted(VALID_DOCUMENTS))
def test_line_index_covers_every_value(name: str) -> None:
    text, _ = VALID_DOCUMENTS[name]

    lines = index_key_lines(text)

    for path in _leaf_paths(tomllib.loads(text)):
        if path:
            assert path in lines


@pytest.mark.parametrize("name", sorted(REJECTED_DOCUMENTS))
def test_document_tomllib_rejects_is_rejected(name: str) -> None:
    text = REJECTED_DOCUMENTS[name]
    with pytest.raises(tomllib.TOMLDecodeError):
        tomllib.loads(text)

    with pytest.raises(ConfigError) as caught:
        parse_toml(text, Path("/etc/gateway.toml"))

    assert str(caught.value).startswith("invalid TOML in /etc/gateway.toml at line ")


def test_upstream_samples_index_every_value() -> None:
    samples = Path(__file__).parents[2] / "data" / "upstream-configs"
    for sample in sorted(samples.glob("*.toml")):
        text = sample.read_text(encoding="utf-8")
        lines = index_key_lines(text)
        for path in _leaf_paths(tomllib.loads(text)):
            assert path in lines, (sample.name, path)

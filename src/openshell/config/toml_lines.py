"""Line numbers of the keys in a TOML document, for messages and provenance.

`tomllib` returns values without positions. This scanner walks a document
that `tomllib` has already accepted and records the line where each key path
first appears. It relies on the document being valid TOML 1.0 and reports no
syntax errors of its own.

A key path is a tuple of keys and array indexes, as in
`("openshell", "gateway", "interceptors", 0, "name")`.
"""

from __future__ import annotations

from bisect import bisect_right

KeyPath = tuple[str | int, ...]

_BARE_KEY_CHARS = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
)
_SIMPLE_ESCAPES = {
    "b": "\b",
    "t": "\t",
    "n": "\n",
    "f": "\f",
    "r": "\r",
    '"': '"',
    "\\": "\\",
}
_UNICODE_ESCAPE_LENGTHS = {"u": 4, "U": 8}
_SCALAR_END = frozenset(",]}#\r\n")


def index_key_lines(text: str) -> dict[KeyPath, int]:
    """Map every key path of a valid TOML document to its first line (1-based)."""
    return _LineScanner(text).scan()


class _LineScanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.lines: dict[KeyPath, int] = {}
        self.array_indexes: dict[KeyPath, int] = {}
        self.line_starts = [0]
        self.line_starts.extend(i + 1 for i, c in enumerate(text) if c == "\n")

    def scan(self) -> dict[KeyPath, int]:
        table: KeyPath = ()
        while True:
            self.skip_blank(newlines=True)
            if self.pos >= len(self.text):
                return self.lines
            if self.text.startswith("[[", self.pos):
                table = self.array_table_header()
            elif self.peek() == "[":
                table = self.table_header()
            else:
                self.key_value(table)

    def line(self) -> int:
        return bisect_right(self.line_starts, self.pos)

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def record(self, path: KeyPath, line: int) -> None:
        for end in range(1, len(path) + 1):
            self.lines.setdefault(path[:end], line)

    def resolve(self, keys: list[str]) -> KeyPath:
        """Turn header keys into a path, entering the last element of each array."""
        path: KeyPath = ()
        for key in keys:
            path += (key,)
            if path in self.array_indexes:
                path += (self.array_indexes[path],)
        return path

    # Headers and key/value pairs

    def table_header(self) -> KeyPath:
        line = self.line()
        self.pos += 1
        path = self.resolve(self.dotted_key())
        self.pos += 1
        self.record(path, line)
        return path

    def array_table_header(self) -> KeyPath:
        line = self.line()
        self.pos += 2
        keys = self.dotted_key()
        self.pos += 2
        array_path = (*self.resolve(keys[:-1]), keys[-1])
        index = self.array_indexes.get(array_path, -1) + 1
        self.array_indexes[array_path] = index
        path = (*array_path, index)
        self.record(path, line)
        return path

    def key_value(self, table: KeyPath) -> None:
        line = self.line()
        path = (*table, *self.dotted_key())
        self.pos += 1
        self.skip_blank(newlines=False)
        self.record(path, line)
        self.value(path)

    def dotted_key(self) -> list[str]:
        """Read `a."b c".d` and stop after the white space that follows it."""
        keys = []
        while True:
            self.skip_blank(newlines=False)
            keys.append(self.simple_key())
            self.skip_blank(newlines=False)
            if self.peek() != ".":
                return keys
            self.pos += 1

    def simple_key(self) -> str:
        quote = self.peek()
        if quote == '"':
            return self.basic_string_value()
        if quote == "'":
            end = self.text.index("'", self.pos + 1)
            key = self.text[self.pos + 1 : end]
            self.pos = end + 1
            return key
        start = self.pos
        while self.peek() and self.peek() in _BARE_KEY_CHARS:
            self.pos += 1
        return self.text[start : self.pos]

    # Values: only skipped, except that nested keys and elements are recorded

    def value(self, path: KeyPath) -> None:
        if self.text.startswith(('"""', "'''"), self.pos):
            self.skip_multiline_string()
        elif self.peek() == '"':
            self.basic_string_value()
        elif self.peek() == "'":
            self.pos = self.text.index("'", self.pos + 1) + 1
        elif self.peek() == "[":
            self.array(path)
        elif self.peek() == "{":
            self.inline_table(path)
        else:
            while self.pos < len(self.text) and self.peek() not in _SCALAR_END:
                self.pos += 1

    def array(self, path: KeyPath) -> None:
        self.pos += 1
        index = 0
        while True:
            self.skip_blank(newlines=True)
            if self.peek() == "]":
                self.pos += 1
                return
            element = (*path, index)
            self.record(element, self.line())
            self.value(element)
            index += 1
            self.skip_blank(newlines=True)
            if self.peek() == ",":
                self.pos += 1

    def inline_table(self, path: KeyPath) -> None:
        self.pos += 1
        while True:
            self.skip_blank(newlines=True)
            if self.peek() == "}":
                self.pos += 1
                return
            self.key_value(path)
            self.skip_blank(newlines=True)
            if self.peek() == ",":
                self.pos += 1

    # Strings, white space and comments

    def basic_string_value(self) -> str:
        self.pos += 1
        chars: list[str] = []
        while self.peek() != '"':
            if self.peek() == "\\":
                chars.append(self.escape())
            else:
                chars.append(self.peek())
                self.pos += 1
        self.pos += 1
        return "".join(chars)

    def escape(self) -> str:
        code = self.text[self.pos + 1]
        length = _UNICODE_ESCAPE_LENGTHS.get(code)
        if length is None:
            self.pos += 2
            return _SIMPLE_ESCAPES[code]
        digits = self.text[self.pos + 2 : self.pos + 2 + length]
        self.pos += 2 + length
        return chr(int(digits, 16))

    def skip_multiline_string(self) -> None:
        """Skip a `\"\"\"` or `'''` string, which may end with one or two quotes."""
        quote = self.peek()
        delimiter = quote * 3
        self.pos += 3
        while not self.text.startswith(delimiter, self.pos):
            step = 2 if quote == '"' and self.peek() == "\\" else 1
            self.pos += step
        self.pos += 3
        for _ in range(2):
            if self.peek() == quote:
                self.pos += 1

    def skip_blank(self, *, newlines: bool) -> None:
        """Skip spaces, tabs and comments, and line breaks when `newlines` is set."""
        while self.pos < len(self.text):
            char = self.peek()
            if char in " \t" or (newlines and char in "\r\n"):
                self.pos += 1
            elif char == "#":
                end = self.text.find("\n", self.pos)
                self.pos = len(self.text) if end < 0 else end
            else:
                return

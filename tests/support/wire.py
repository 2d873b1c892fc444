"""A minimal protobuf wire-format codec, independent of generated classes.

Used to prove wire compatibility: requests are built from field numbers
alone and responses are decoded the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field

VARINT = 0
LENGTH_DELIMITED = 2


def encode_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def tag(number: int, wire_type: int) -> bytes:
    return encode_varint(number << 3 | wire_type)


def varint_field(number: int, value: int) -> bytes:
    return tag(number, VARINT) + encode_varint(value)


def bytes_field(number: int, value: bytes) -> bytes:
    return tag(number, LENGTH_DELIMITED) + encode_varint(len(value)) + value


def string_field(number: int, value: str) -> bytes:
    return bytes_field(number, value.encode())


def map_entry(number: int, key: str, value: str) -> bytes:
    """Encode one map<string, string> entry: a message with key = 1, value = 2."""
    return bytes_field(number, string_field(1, key) + string_field(2, value))


@dataclass
class Decoded:
    """Fields of one decoded message: field number -> list of raw values."""

    fields: dict[int, list[int | bytes]] = field(default_factory=dict)

    def first(self, number: int) -> int | bytes | None:
        values = self.fields.get(number)
        return values[0] if values else None

    def string(self, number: int) -> str:
        value = self.first(number)
        return value.decode() if isinstance(value, bytes) else ""

    def integer(self, number: int) -> int:
        value = self.first(number)
        return value if isinstance(value, int) else 0

    def message(self, number: int) -> Decoded:
        value = self.first(number)
        return decode(value) if isinstance(value, bytes) else Decoded()

    def messages(self, number: int) -> list[Decoded]:
        return [decode(v) for v in self.fields.get(number, []) if isinstance(v, bytes)]

    def string_map(self, number: int) -> dict[str, str]:
        return {entry.string(1): entry.string(2) for entry in self.messages(number)}


def _read_varint(data: bytes, position: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[position]
        position += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, position
        shift += 7


def decode(data: bytes) -> Decoded:
    """Decode one message into raw field values (varints and byte strings)."""
    decoded = Decoded()
    position = 0
    while position < len(data):
        key, position = _read_varint(data, position)
        number, wire_type = key >> 3, key & 7
        value: int | bytes
        if wire_type == VARINT:
            value, position = _read_varint(data, position)
        elif wire_type == LENGTH_DELIMITED:
            length, position = _read_varint(data, position)
            value = data[position : position + length]
            position += length
        elif wire_type == 1:
            value = int.from_bytes(data[position : position + 8], "little")
            position += 8
        elif wire_type == 5:
            value = int.from_bytes(data[position : position + 4], "little")
            position += 4
        else:
            raise ValueError(f"unsupported wire type {wire_type} for field {number}")
        decoded.fields.setdefault(number, []).append(value)
    return decoded

"""Text a user wrote, decoded at the boundary: an undecodable byte is
reported where an editor finds it (line and column), not as an offset."""

from __future__ import annotations


class NotUtf8(ValueError):
    def __init__(self, data: bytes, offset: int):
        line_start = data.rfind(b"\n", 0, offset) + 1
        self.line = data.count(b"\n", 0, offset) + 1
        # Everything before the first bad byte decodes, so the column counts characters.
        self.col = len(data[line_start:offset].decode("utf-8")) + 1
        self.message = f"not UTF-8 text: byte 0x{data[offset]:02X} at line {self.line}, column {self.col}"
        super().__init__(self.message)


def decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise NotUtf8(data, e.start) from None

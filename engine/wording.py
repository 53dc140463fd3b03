"""How both front ends put a count into words, so the headless lines and the
TUI never disagree on it."""

from __future__ import annotations


def plural(n: int, noun: str, nouns: str | None = None) -> str:
    """`1 backend job`, `2 backend jobs`; `nouns` where adding an `s` is wrong."""
    return f"{n} {noun if n == 1 else nouns or noun + 's'}"

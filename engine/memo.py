"""Answers a new process would otherwise work out again on every start
(hashing the toolchain's LLVM, running `nm` over std's rlibs), kept in a
small JSON file for the key they were worked out for.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, TypeVar

import orjson

from .cache import atomic_write

T = TypeVar("T")


def remembered(memo: Path | None, key, work: Callable[[], T], valid: Callable[[object], bool],
               fields: tuple[str, str] = ("key", "value")) -> T:
    """`work()`, unless `memo` keeps its answer for `key` (a JSON value):
    stored as the two `fields` of an object, named as files already written
    name them. A missing or damaged file (its answer not `valid`) is worked
    out again; one that cannot be written is kept next time, maybe."""
    key_field, value_field = fields
    try:
        known = orjson.loads(memo.read_bytes()) if memo is not None else {}
        if known.get(key_field) == key and valid(known[value_field]):
            return known[value_field]
    except (OSError, orjson.JSONDecodeError, AttributeError, KeyError):
        pass
    value = work()
    if memo is not None:
        try:
            memo.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(memo, orjson.dumps({key_field: key, value_field: value}))
        except OSError:
            pass
    return value

"""An emission's cache key and its three entries (summary, import fragments,
pre-link bitcode), the same wherever a module is emitted: by a build, or
ahead of need while cargo still runs (`ahead.py`). The key covers everything
the emission task reads, so an entry either writes is one the other may use.
"""

from __future__ import annotations

import hashlib

import orjson

from . import llvm_env
from .cache import Cache
from .fragment import digest

# Changing what an entry holds, or how it is read back, needs a new format.
FORMAT = 7
KINDS = ("emit", "bc", "frag")


def key(module_id: str, is_bitcode: bool, data: bytes, reader: tuple[str, str, str] | None, opts: dict) -> str:
    """`reader`: the release LLVM that reads a bitcode source (its identity
    is keyed), or None for llvmlite's."""
    return digest({"format": FORMAT, "llvm": reader[2] if reader else llvm_env.version(), "id": module_id,
                   "bitcode": is_bitcode, "source": hashlib.sha256(data).hexdigest(), "opts": opts})


def cached(cache: Cache, k: str) -> bool:
    return all(cache.has(kind, k) for kind in KINDS)


def store(cache: Cache, k: str, out: dict, source: bytes) -> str:
    """Write an emission task's result; the hash of its pre-link bitcode
    (the source itself, for bitcode)."""
    bitcode = source if out["bitcode"] is None else out["bitcode"]
    own = hashlib.sha256(bitcode).hexdigest()
    cache.put("bc", k, bitcode)
    cache.put("frag", k, orjson.dumps(out["fragments"]))
    cache.put("emit", k, orjson.dumps({"own": own, "summary": out["summary"]}))
    return own

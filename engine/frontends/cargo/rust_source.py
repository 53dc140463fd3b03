"""Which source file a Rust codegen unit's code comes from, and what it
holds (its label), read off its symbols: the release profile keeps no debug
info, but a legacy-mangled name (`_ZN3app6shapes4area17h<hash>E`) spells
its function's module path, and an impl's first component
(`_$LT$app..shapes..Circle$u20$as$u20$…$GT$`) that of its type. rustc files
module `a::b` of a crate rooted at `src/lib.rs` as `src/a/b.rs` or
`src/a/b/mod.rs`, or inline in a file of an enclosing module."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Iterable

from ... import names

SHOWN = 2        # places a label names before it counts the rest as "(+N)"
HASH = re.compile(r"h[0-9a-f]{16}")
ESCAPES = (("$LT$", "<"), ("$GT$", ">"), ("$u20$", " "), ("..", "::"))


def components(symbol: str) -> list[str] | None:
    """The path components of a legacy-mangled symbol, without its hash."""
    if not symbol.startswith("_ZN"):
        return None
    out, i = [], 3
    while i < len(symbol) and symbol[i] != "E":
        digits = re.match(r"\d+", symbol[i:])
        if digits is None:
            return None
        start = i + digits.end()
        i = start + int(digits.group())
        out.append(symbol[start:i])
    if i >= len(symbol) or not out:
        return None
    return out[:-1] if HASH.fullmatch(out[-1]) else out


def module_path(symbol: str, crate: str) -> list[str] | None:
    """The path below `crate` of the module (or type) a symbol's function is
    in; None for code of another crate (a generic instantiated here)."""
    parts = components(symbol)
    if not parts:
        return None
    if parts[0].startswith(("_$LT$", "$LT$")):
        text = parts[0].lstrip("_")
        for escaped, plain in ESCAPES:
            text = text.replace(escaped, plain)
        parts = text[1:].split(" as ")[0].split("<")[0].rstrip(">").split("::") + [""]
    return parts[1:-1] if parts[0] == crate else None


def file_of(root: Path, path: list[str]) -> Path:
    """The file of the innermost module of `path` that has one of its own,
    for a crate whose root file is `root`."""
    for n in range(len(path), 0, -1):
        inner = root.parent.joinpath(*path[:n])
        for candidate in (inner.with_name(inner.name + ".rs"), inner / "mod.rs"):
            if candidate.is_file():
                return candidate
    return root


def source_file(root: Path, crate: str, symbols: Iterable[str]) -> Path | None:
    """The file most of the crate's functions among `symbols` come from."""
    votes = Counter(file_of(root, path) for sym in symbols if (path := module_path(sym, crate)) is not None)
    return min(votes, key=lambda f: (-votes[f], str(f))) if votes else None


def _place(symbol: str, crate: str) -> str | None:
    """Where in `crate` a function is: its module path (`polygon`, a type's
    `Point`), or its own name at the crate root; None if it is not the
    crate's code (a generic of another crate instantiated here)."""
    path = module_path(symbol, crate)
    if path is None:
        return None
    return "::".join(path) if path else names.short(names.demangle(symbol), 1)


def label(crate: str, functions: Iterable[str]) -> str:
    """What a Rust codegen unit holds, e.g. `geometry · polygon, vec2 (+3)`:
    the places of the crate's own functions it defines, most functions
    first; a unit of other crates' generics only is named by those. "" for
    a unit that defines no function."""
    functions = list(functions)
    places = Counter(p for s in functions if (p := _place(s, crate)) is not None)
    if not places:
        places = Counter(names.short(names.demangle(s)) for s in functions)
    if not places:
        return ""
    ranked = sorted(places, key=lambda p: (-places[p], p.lower(), p))
    more = f" (+{len(ranked) - SHOWN})" if len(ranked) > SHOWN else ""
    return f"{crate} · {', '.join(ranked[:SHOWN])}{more}"


def line_of(path: Path, name: str) -> int | None:
    """The line where function `name` (its bare name) is defined in a Rust
    file, 1-based; None if the file spells no `fn name` (a macro made it)."""
    pattern = re.compile(rf"\bfn\s+{re.escape(name)}\b")
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return None
    return next((n for n, text in enumerate(lines, 1)
                 if pattern.search(text) and not text.lstrip().startswith("//")), None)

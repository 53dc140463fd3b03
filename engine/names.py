"""The names a person reads: symbols demangled, and searched by.

rustc names its codegen units by hash (`app::dczqc5ha5dohxmhnpt4gue087`)
and mangles its symbols (legacy `_ZN8geometry4norm17h<hash>E`, v0 `_R…`);
C++ in an IR workspace is mangled too. Events keep the raw names (they are
what the linker and `--json` consumers match on) and carry these beside them,
and a label for each module from its project (Cargo's: rust_source.label).

Demangling is pydemumble's (the demumble tool's LLVM demanglers: Itanium
C++, both Rust schemes, with Rust's hash and `.llvm.<tag>` suffixes hidden).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Iterable

import pydemumble

if TYPE_CHECKING:
    from .thinlink import ModulePlan

GENERICS = re.compile(r"<[^<>]*>")
# A mangled symbol inside text: Itanium (`_Z…`, Rust's legacy `_ZN…E`) or
# Rust v0 (`_R…`), as linkers quote them.
MANGLED = re.compile(r"(?<![\w$.])_[ZR](?:[\w$]|\.(?=[\w$]))+")


def demangle(symbol: str) -> str:
    """`symbol` as its language spells it; the symbol itself when it is not
    mangled (pydemumble answers "" for those). ~0.5 µs a symbol: no cache."""
    try:
        return pydemumble.demangle(symbol) or symbol
    except UnicodeError:         # a name that is not text (kept by surrogateescape)
        return symbol


def readable(symbols: Iterable[str]) -> dict[str, str]:
    """Raw symbol -> demangled, for the symbols demangling changes."""
    return {s: d for s in symbols if (d := demangle(s)) != s}


def short(demangled: str, parts: int = 2) -> str:
    """The last path components of a name, generic arguments left out:
    `alloc::raw_vec::RawVecInner<A>::deallocate` -> `RawVecInner::deallocate`."""
    text = demangled
    while (shorter := GENERICS.sub("", text)) != text:
        text = shorter
    return "::".join([p for p in text.split("::") if p][-parts:]) or demangled


def mentioned(plan: "ModulePlan") -> dict[str, str]:
    """The `names` of a module's state event: the symbols it lists (imports,
    promoted, internalized) that demangle to something else."""
    return readable([i.name for i in plan.imports] + plan.promote + plan.internalize)


def pick(functions: Iterable[str], text: str) -> str | None:
    """The function of `functions` that `text` names: itself (a raw symbol),
    else the one whose demangled name contains it, a whole last component
    first (`norm` picks `geometry::norm` over `geometry::normalize`)."""
    functions = list(functions)
    if text in functions:
        return text
    want = text.lower()
    found = [(d, f) for f in functions if want and want in (d := demangle(f).lower())]
    if not found:
        return None
    return min(found, key=lambda d: (short(d[0], 1) != want, len(d[0]), d[1]))[1]


class Finder:
    """The modules of a build by the names a person would search them by:
    their label and the demangled names of the functions they define or
    import (made once per build, at its first search: the session's)."""

    def __init__(self, modules: dict[str, tuple[str, list[str], list[str]]]):
        """`modules`: id -> (label, defined functions, imported functions)."""
        self.texts = {mid: (label.lower(), "\n".join(map(demangle, defined)).lower(),
                            "\n".join(map(demangle, imported)).lower())
                      for mid, (label, defined, imported) in modules.items()}

    def find(self, text: str) -> list[str]:
        """Ids of the modules `text` matches (case-insensitively): those
        defining a matching function first, then those whose label or id
        matches, then those importing one; by id within each."""
        want = text.lower()
        if not want:
            return []
        ranked = []
        for mid, (label, defined, imported) in self.texts.items():
            rank = (0 if want in defined else 1 if want in label or want in mid.lower()
                    else 2 if want in imported else None)
            if rank is not None:
                ranked.append((rank, mid))
        return [mid for _, mid in sorted(ranked)]


def demangle_text(text: str) -> str:
    """Free text (a linker's message) with the mangled symbols in it demangled."""
    return MANGLED.sub(lambda m: demangle(m.group()), text)

"""What the IR edits need to know about a workspace: its symbols, who
references them, who calls whom, and which problems (parse or verifier
errors, duplicate strong definitions, undefined symbols) would stop it from
building. An edit is accepted only if it adds no problem, so most steps build
and the broken ones are deliberate."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import llvmlite.binding as llvm

from thinwatch.engine.irtext import LOCAL_LINKAGES, Entity, ModuleText, global_refs, linkage_of, split_module, strip_comment

ENTRY = frozenset({"main"})
DECLARATION = re.compile(r" = (?:[\w()]+ )*?(?:external|extern_weak) (?:[\w()]+ )*?(?:global|constant)\b")


@functools.lru_cache(maxsize=4096)
def parsed(text: str) -> ModuleText:
    return split_module(text)


@functools.lru_cache(maxsize=4096)
def llvm_error(text: str) -> str | None:
    """Why LLVM rejects the module, or None. Modules with debug info are only
    parsed: their verifier failures abort the process (DESIGN.md §3)."""
    try:
        mod = llvm.parse_assembly(text, llvm.create_context())
        if "Debug Info Version" not in text:
            mod.verify()
    except RuntimeError as e:
        return str(e).splitlines()[0] if str(e) else "invalid"
    return None


def is_definition(e: Entity) -> bool:
    return e.kind == "define" or (e.kind == "global" and not DECLARATION.search(e.text.split(",")[0]))


def is_local(e: Entity) -> bool:
    return linkage_of(e.text.split("\n")[0]) in LOCAL_LINKAGES


def code_refs(text: str) -> set[str]:
    """Symbols an entity references, comments left out."""
    return set(global_refs("\n".join(strip_comment(line) for line in text.split("\n"))))


@dataclass
class Model:
    texts: dict[str, str]                  # path -> source
    mods: dict[str, ModuleText]            # path -> module
    defs: dict[str, list[tuple[str, Entity]]]   # name -> its definitions (path, entity)

    @classmethod
    def of(cls, tree: dict[str, str]) -> "Model":
        texts = {p: t for p, t in tree.items() if p.endswith(".ll")}
        mods = {p: parsed(t) for p, t in texts.items()}
        defs: dict[str, list[tuple[str, Entity]]] = {}
        for path, mt in mods.items():
            for e in [*mt.functions.values(), *mt.globals.values()]:
                if is_definition(e):
                    defs.setdefault(e.name, []).append((path, e))
        return cls(texts, mods, defs)

    def entities(self, path: str) -> dict[str, Entity]:
        mt = self.mods.get(path, ModuleText())      # a module about to be created is empty
        return {**mt.globals, **mt.functions}

    def definitions(self, kind: str | None = None) -> list[tuple[str, Entity]]:
        return [(p, e) for p in sorted(self.mods) for e in self.entities(p).values()
                if is_definition(e) and (kind is None or e.kind == kind)]

    def public_definition(self, name: str) -> tuple[str, Entity] | None:
        return next(((p, e) for p, e in self.defs.get(name, []) if not is_local(e)), None)

    def satisfies(self, name: str) -> bool:
        """A definition other modules' references link against. Not a
        linkonce one: the pre-link optimisation may discard it where its own
        module does not use it, in thinwatch as in separate compilation
        (tests/test_fuzz.py::test_linkonce_odr_referenced_only_elsewhere_fails_as_separate_compilation_does)."""
        return any(not is_local(e) and not linkage_of(e.text.split("\n")[0]).startswith("linkonce")
                   for _, e in self.defs.get(name, []))

    def callees(self, name: str) -> set[str]:
        return {r for _, e in self.defs.get(name, []) if e.kind == "define" for r in code_refs(e.text)} - {name}

    def reaches(self, start: str, goal: str) -> bool:
        seen, todo = set(), [start]
        while todo:
            f = todo.pop()
            if f == goal:
                return True
            if f not in seen:
                seen.add(f)
                todo.extend(self.callees(f))
        return False

    def weight(self, name: str, depth: int = 0) -> int:
        """Calls one call of `name` makes, transitively (bounded): new calls
        only go to light functions, so run time stays linear in the edits."""
        if depth > 12:
            return 1000
        return 1 + sum(self.weight(c, depth + 1) for c in self.callees(name) if c in self.defs)

    def problems(self, externals: frozenset[str]) -> set[str]:
        """Reasons the workspace would not build (a model of the linker)."""
        out = {f"{p}: {err}" for p, mt in self.mods.items() if (err := llvm_error(self.texts[p]))}
        for name, ds in self.defs.items():
            strong = [p for p, e in ds if linkage_of(e.text.split("\n")[0]) == "external"]
            if len(strong) > 1:
                out.add(f"@{name} defined in {', '.join(strong)}")
        for p in self.mods:
            local = {e.name for e in self.entities(p).values() if is_definition(e)}
            for e in self.entities(p).values():
                for r in code_refs(e.text) - local - externals:
                    if not r.startswith("llvm.") and not self.satisfies(r):
                        out.add(f"{p}: @{r} undefined")
        if not any(self.public_definition(n) for n in ENTRY):
            out.add("no entry point")
        return out


def externals_of(tree: dict[str, str]) -> frozenset[str]:
    """Symbols the initial workspace takes from outside (libc): never a problem."""
    m = Model.of(tree)
    return frozenset(r for p in m.mods for e in m.entities(p).values() for r in code_refs(e.text)
                     if r not in m.defs)

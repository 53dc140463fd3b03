"""The thin link: whole-program decisions from summaries alone.

Pure Python over `ModuleSummary` values, in the engine process. Produces, per
module, the imports it takes and the plan its backend applies (promotion,
internalization, resolution of linkonce/weak copies). Every decision is
deterministic in the summaries and the preserve set: modules are visited in
sorted order and every list is sorted.

Choosing the imports is a walk over every module's call graph, the largest
part of the link (~40 % on bat's 429 modules); an edit changes few modules
and the choices of fewer. So a link may start from the last one (`Trace`):
a module whose summary is the one the last link had, and whose walk looked
up no name that now resolves differently, takes its last imports. The
result is the link from scratch: the walk reads nothing else.
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Callable

from .fragment import promoted_name
from .summary import IMPORT_INSTR_LIMIT, FunctionSummary, ModuleSummary

IMPORT_DECAY = 0.7
ODR = ("linkonce_odr", "weak_odr")
OVERRIDABLE = ("linkonce", "weak", "linkonce_odr", "weak_odr", "common")


@dataclass(frozen=True)
class Import:
    name: str           # name in the importer (promoted name for a local)
    exporter: str       # module id
    source_name: str    # name in the exporter
    hash: str           # fragment hash


@dataclass
class ModulePlan:
    imports: list[Import] = field(default_factory=list)
    promote: list[str] = field(default_factory=list)
    internalize: list[str] = field(default_factory=list)
    resolution: list[tuple[str, str]] = field(default_factory=list)
    exported_to: list[str] = field(default_factory=list)   # "importer: fn" pairs, for display
    errors: list[str] = field(default_factory=list)        # why the module cannot be linked

    def backend_plan(self) -> dict:
        return {"promote": self.promote, "internalize": self.internalize,
                "resolution": [list(r) for r in self.resolution]}


class Index:
    """Who defines what, resolved by the rules of a system linker given the
    modules' objects in sorted order: of each `comdat any` group only the
    first module's copy counts; a strong definition beats common ones, which
    beat weak and linkonce ones; of the weak ones the first prevails; two
    strong definitions are an error (`duplicates`), as `cc` reports them.
    `available_externally` copies are never definitions."""

    def __init__(self, summaries: dict[str, ModuleSummary]):
        self.summaries = summaries
        self.prevailing: dict[str, str] = {}
        self.copies: dict[str, list[str]] = defaultdict(list)
        self.locals: dict[str, tuple[str, str]] = {}
        self.duplicates: dict[str, list[str]] = {}     # symbol -> the modules defining it strongly
        kept: dict[str, str] = {}                      # comdat -> the module whose group is kept
        for mid in sorted(summaries):
            s = summaries[mid]
            for group in s.comdats.values():
                kept.setdefault(group, mid)
            defs = [(n, f.linkage) for n, f in s.functions.items()] + list(s.variables.items())
            for name, linkage in defs:
                if linkage in ("private", "internal"):
                    self.locals[promoted_name(name, mid)] = (mid, name)
                elif linkage not in ("available_externally", "appending"):
                    self.copies[name].append(mid)
        for name, mids in self.copies.items():
            if len(mids) == 1:            # most names: one copy, which prevails unless discarded
                if kept.get(summaries[mids[0]].comdats.get(name), mids[0]) == mids[0]:
                    self.prevailing[name] = mids[0]
                continue
            live = [m for m in mids if kept.get(summaries[m].comdats.get(name), m) == m]
            strong = [m for m in live if self.linkage(m, name) not in OVERRIDABLE]
            common = [m for m in live if self.linkage(m, name) == "common"]
            if len(strong) > 1:
                self.duplicates[name] = strong
            # With every copy in a discarded group, none prevails: the
            # symbol is undefined, as for the linker.
            if winners := strong or common or live:
                self.prevailing[name] = winners[0]

    def linkage(self, mid: str, name: str) -> str:
        s = self.summaries[mid]
        f = s.functions.get(name)
        return f.linkage if f else s.variables[name]

    def function(self, name: str) -> tuple[str, str, FunctionSummary] | None:
        """(module, name there, summary) of the definition a call to `name` reaches."""
        if name in self.locals:
            mid, orig = self.locals[name]
        elif name in self.prevailing:
            mid, orig = self.prevailing[name], name
        else:
            return None
        f = self.summaries[mid].functions.get(orig)
        return (mid, orig, f) if f else None


def _live(index: Index, preserve: set[str]) -> set[tuple[str, str]]:
    """The definitions, as (module, name there), that the program can reach:
    from the preserved symbols and each module's `llvm.*` variables
    (`llvm.used`, constructor lists), through every call and reference of a
    reachable definition; a name reached reaches each of its copies, as in
    LLVM's own liveness (`computeDeadSymbols`). What a native input or the
    linker reaches is in `preserve`."""
    summaries = index.summaries

    def definitions(name: str) -> list[tuple[str, str]]:
        if name in index.locals:
            return [index.locals[name]]
        return [(mid, name) for mid in index.copies.get(name, ())]
    work = [d for name in preserve for d in definitions(name)]
    for mid, s in summaries.items():      # (`llvm.used` among them: its members are its references)
        work.extend((mid, name) for name in s.variables if name.startswith("llvm."))
    live: set[tuple[str, str]] = set()
    while work:
        node = work.pop()
        if node in live:
            continue
        live.add(node)
        mid, name = node
        s = summaries[mid]
        f = s.functions.get(name)
        for ref in (*(f.callees if f else ()), *s.refs.get(name, ())):
            work.extend(definitions(ref))
    return live


def _select_imports(index: Index, mid: str, roots: frozenset[str], looked: set[str]) -> list[Import]:
    """The imports of `mid` for the calls of its functions `roots`, adding
    to `looked` every name the walk resolved."""
    own = index.summaries[mid].functions
    work = deque()
    for name in sorted(roots):
        work.extend((c, float(IMPORT_INSTR_LIMIT)) for c in own[name].callees)
    chosen: dict[str, Import] = {}
    while work:
        callee, limit = work.popleft()
        if callee in chosen or callee in own:
            continue
        looked.add(callee)
        found = index.function(callee)
        if found is None:
            continue
        exporter, orig, f = found
        if exporter == mid or f.hash is None or f.insts > limit:
            continue
        chosen[callee] = Import(callee, exporter, orig, f.hash)
        work.extend((c, limit * IMPORT_DECAY) for c in f.callees)
    return sorted(chosen.values(), key=lambda i: (i.exporter, i.name))


@dataclass
class Trace:
    """What a thin link's choices read: each module's version (a value
    that fixes its summary, its emission key), the index the names were
    resolved in, the preserved symbols and what they reach, and per module
    its imports, the names resolved and its live functions the walk
    started from."""
    versions: dict[str, str | None]
    index: Index
    preserve: frozenset[str]
    live: set[tuple[str, str]]
    imports: dict[str, tuple[list[Import], frozenset[str], frozenset[str]]]


def _graph(s: ModuleSummary) -> tuple:
    """All that liveness reads of a module's summary."""
    return {name: (f.linkage, f.callees) for name, f in s.functions.items()}, s.variables, s.refs


def _live_again(last: Trace | None, index: Index, preserve: frozenset[str],
                same: Callable[[str], bool]) -> set[tuple[str, str]]:
    """`_live`, or the last link's answer where it reads the same: the
    same preserved symbols and modules, and every module at another
    version defining and referencing what it did (an edit inside a
    function body, the usual one)."""
    if last is not None and last.preserve == preserve and last.index.summaries.keys() == index.summaries.keys() \
            and all(same(mid) or _graph(s) == _graph(last.index.summaries[mid])
                    for mid, s in index.summaries.items()):
        return last.live
    return _live(index, preserve)


def _resolved_otherwise(last: Trace, index: Index, same: Callable[[str], bool]) -> set[str]:
    """Every name `index.function` may resolve otherwise than in `last`:
    whatever a module not at the `same` version defines, in either link (a
    local by its promoted name), and every name whose prevailing module
    moved (a comdat group kept elsewhere, a module added or removed)."""
    out = {name for name, _ in last.index.prevailing.items() ^ index.prevailing.items()}
    for idx in (last.index, index):
        for mid, s in idx.summaries.items():
            if not same(mid):
                for name in (*s.functions, *s.variables):
                    out.add(name)
                    out.add(promoted_name(name, mid))
    return out


def _imports(index: Index, live: set[tuple[str, str]], last: Trace | None,
             same: Callable[[str], bool]) -> dict[str, tuple[list[Import], frozenset[str], frozenset[str]]]:
    """Each module's imports, for the calls of its live functions only (as
    LLVM's, which skips dead ones): an import into dead code would keep
    what it references, and the locals it promotes, alive."""
    changed = _resolved_otherwise(last, index, same) if last is not None else set()
    out = {}
    for mid in sorted(index.summaries):
        own = index.summaries[mid].functions
        roots = frozenset(name for name, f in own.items()
                          if f.linkage != "available_externally" and (mid, name) in live)
        if last is not None and same(mid) and last.imports[mid][1].isdisjoint(changed) \
                and last.imports[mid][2] == roots:
            out[mid] = last.imports[mid]
        else:
            looked: set[str] = set()
            out[mid] = (_select_imports(index, mid, roots, looked), frozenset(looked), roots)
    return out


def thin_link(summaries: dict[str, ModuleSummary], preserve: set[str], versions: dict[str, str | None] | None = None,
              last: Trace | None = None) -> tuple[dict[str, ModulePlan], Trace]:
    """The plans, and the trace a later link may start from: given
    `versions` (per module, a value that fixes its summary; None for one
    that fixes nothing), the import choices of the modules `last` saw at
    the same version are taken from it where they still hold."""
    index = Index(dict(summaries))      # the trace's, whatever becomes of the caller's dict
    versions = dict(versions or dict.fromkeys(index.summaries))

    def same(mid: str) -> bool:
        return versions.get(mid) is not None and versions.get(mid) == last.versions.get(mid)
    # A definition nothing live reaches is internalized whoever references
    # it, and imports nothing: the backend then drops it with what only it
    # used (LLVM's ThinLTO makes it a declaration). On bat, a third of the
    # instructions the backends compiled were in such definitions.
    preserve = frozenset(preserve)
    live = _live_again(last, index, preserve, same)
    trace = Trace(versions, index, preserve, live, _imports(index, live, last, same))
    plans = {mid: ModulePlan() for mid in summaries}
    referenced_by: dict[str, set[str]] = defaultdict(set)
    promote: dict[str, set[str]] = defaultdict(set)
    for mid in sorted(summaries):
        s = summaries[mid]
        for name in s.undefined:
            referenced_by[name].add(mid)
        plans[mid].imports = list(trace.imports[mid][0])
        for imp in plans[mid].imports:
            f = summaries[imp.exporter].functions[imp.source_name]
            promote[imp.exporter].update(f.promote)
            for dep in f.deps:
                referenced_by[dep].add(mid)
            plans[imp.exporter].exported_to.append(f"{mid}: {imp.source_name}")

    for name, mids in sorted(index.duplicates.items()):
        for mid in mids:
            plans[mid].errors.append(f"multiple definition of '{name}': in {', '.join(mids[:-1])} and {mids[-1]}")

    for name, mids in index.copies.items():
        winner = index.prevailing.get(name)
        for mid in mids:
            if mid == winner:
                continue
            referenced_by[name].add(mid)
            if winner is not None and index.linkage(mid, name) == index.linkage(winner, name) == "common":
                continue          # the linker merges common copies into the largest
            is_fn = name in summaries[mid].functions
            action = "available_externally" if is_fn and index.linkage(mid, name) in ODR else "declare"
            plans[mid].resolution.append((name, action))

    for mid, s in summaries.items():
        plan = plans[mid]
        plan.promote = sorted(promote[mid])
        for name in sorted(set(s.functions) | set(s.variables)):
            if index.prevailing.get(name) != mid or name.startswith("llvm.") or name in preserve \
                    or name in s.preserved:
                continue
            refs = referenced_by.get(name)
            linkage = index.linkage(mid, name)
            if not refs or refs == {mid} or (mid, name) not in live:
                plan.internalize.append(name)
            elif linkage in ("linkonce_odr", "linkonce"):
                plan.resolution.append((name, linkage.replace("linkonce", "weak")))
        plan.resolution.sort()
        plan.exported_to.sort()
    return plans, trace

"""Module summaries: what the thin link needs to know of a module, read off its
printed pre-link IR (a regex pass was measured ~4x faster than walking
llvmlite values, and it sees constant expressions and personalities).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from . import irtext
from .fragment import CALL_TARGET, INTERPOSABLE, Fragment, FragmentBuilder, promoted_name
from .irtext import ModuleText, unquote

# The most instructions a function may have for the thin link to import it
# (at a call from the importer's own functions; deeper calls allow fewer).
# Emission builds no fragment for a larger one: on real crates those were a
# seventh of the functions and half of emission's time, for fragments no
# importer could take. It is an emission option, so it is in every emission key.
IMPORT_INSTR_LIMIT = 100


@dataclass
class FunctionSummary:
    linkage: str
    visibility: str
    insts: int
    callees: list[str]          # global names; locals under their promoted name
    hash: str | None            # hash of the import fragment (None: not importable)
    why_not: str = ""           # why it may not be imported, if so
    promote: list[str] = field(default_factory=list)  # locals its import needs promoted
    deps: list[str] = field(default_factory=list)     # symbols its import declares


@dataclass
class ModuleSummary:
    module_id: str
    triple: str
    functions: dict[str, FunctionSummary] = field(default_factory=dict)
    variables: dict[str, str] = field(default_factory=dict)   # defined variable -> linkage
    undefined: list[str] = field(default_factory=list)        # referenced, defined elsewhere
    preserved: list[str] = field(default_factory=list)        # in llvm.used / compiler.used
    # Defined symbol -> its `comdat any` group: a linker keeps the first
    # group of each name and discards the others with every symbol in them.
    comdats: dict[str, str] = field(default_factory=dict)
    # Defined symbol -> what its definition references besides the calls its
    # summary lists (addresses taken, a variable's initializer), locals
    # under their promoted names: with the calls, the edges of liveness.
    refs: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: dict) -> "ModuleSummary":
        d = dict(d)
        d["functions"] = {k: FunctionSummary(**v) for k, v in d["functions"].items()}
        return cls(**d)


# An indented line of a body that is not an instruction: blank, a comment or
# a debug record; with debug info, also a debug intrinsic's call (looking for
# one costs a scan of every line).
_SKIPPED = r"\n  [^\S\n]*(?:#dbg_|;|(?=\n))"
NOT_INSTRUCTION = re.compile(_SKIPPED)
NOT_INSTRUCTION_OR_DBG = re.compile(_SKIPPED + r"|\n  [^\n]*@llvm\.dbg\.")


def _instruction_count(define: str) -> int:
    """Instructions are indented; labels are not, and the head and the
    closing brace are neither."""
    others = NOT_INSTRUCTION_OR_DBG if "@llvm.dbg." in define else NOT_INSTRUCTION
    return define.count("\n  ") - len(others.findall(define))


NEVER_INLINED = re.compile(r"\b(?:noinline|optnone)\b")


def _never_inlined(head: str, never_groups: set[int]) -> bool:
    """`never_groups`: the attribute groups that say noinline or optnone."""
    attrs = head[head.index("@"):]
    if any(n in never_groups for n in irtext.attr_refs(attrs)):
        return True
    # (the search is tried at every position: look for the words first)
    return ("noinline" in attrs or "optnone" in attrs) and bool(NEVER_INLINED.search(irtext.strip_comment(attrs)))


def _references(mt: ModuleText, builder: FragmentBuilder, module_id: str, name: str) -> set[str]:
    """What the definition of `name` references, locals under their promoted
    names (a local is known by that name across the link)."""
    refs = set()
    text = (mt.functions.get(name) or mt.globals[name]).text
    for r in irtext.global_refs(text):
        if r != name and not r.startswith("llvm."):
            refs.add(promoted_name(r, module_id) if builder.is_local(r) else r)
    return refs


def summarize(mt: ModuleText, module_id: str, triple: str,
              import_limit: int) -> tuple[ModuleSummary, dict[str, Fragment]]:
    """The module's summary and the import fragments of its functions of at
    most `import_limit` instructions."""
    builder = FragmentBuilder(mt, module_id)
    summary = ModuleSummary(module_id=module_id, triple=triple)
    fragments: dict[str, Fragment] = {}
    never_groups = {n for n, text in mt.attrs.items() if NEVER_INLINED.search(text)}

    def grouped(name: str, head: str) -> None:
        group = irtext.comdat_of(head, name)
        if group in mt.comdats and mt.comdats[group].text.split()[-1] == "any":
            summary.comdats[name] = group
    for name, ent in mt.functions.items():
        if ent.kind != "define":
            summary.undefined.append(name)
            continue
        head = irtext.first_line(ent.text)
        linkage = irtext.linkage_of(head)
        grouped(name, head)
        insts = _instruction_count(ent.text)
        why = ""
        if insts > import_limit:
            why = f"too large to import ({insts} instructions)"
        elif linkage == "available_externally":
            why = "available_externally copy"
        elif linkage in INTERPOSABLE:
            why = f"interposable ({linkage})"
        elif _never_inlined(head, never_groups):
            why = "noinline"
        frag = None
        if not why:
            frag, why = builder.build(name)
        if frag is not None:
            fragments[name] = frag
            callees = frag.callees
        else:
            calls = [unquote(c) for c in CALL_TARGET.findall(ent.text)]
            renames = builder.rename_map(calls)
            callees = sorted({renames.get(c, c) for c in calls})
        callees = [c for c in callees if not c.startswith("llvm.")]
        summary.functions[name] = FunctionSummary(
            linkage=linkage,
            visibility=irtext.visibility_of(head),
            insts=insts,
            callees=callees,
            hash=frag.hash if frag else None,
            why_not=why,
            promote=frag.promote if frag else [],
            deps=frag.deps if frag else [],
        )
        if refs := _references(mt, builder, module_id, name).difference(callees):
            summary.refs[name] = sorted(refs)
    for name, ent in mt.globals.items():
        words = ent.text[ent.text.index(" = ") + 3:].split(maxsplit=3)   # not the initializer's words
        if words[0] in ("external", "extern_weak"):      # LLVM spells out linkage only on declarations
            summary.undefined.append(name)
            continue
        summary.variables[name] = irtext.linkage_of(" ".join(words[:3]))
        grouped(name, ent.text)
        if refs := _references(mt, builder, module_id, name):
            summary.refs[name] = sorted(refs)
        if name in ("llvm.used", "llvm.compiler.used"):
            summary.preserved.extend(irtext.global_refs(ent.text))
    return summary, fragments

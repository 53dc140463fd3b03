"""Import fragments: the canonical text one function brings into an importer.

A fragment is built once per defined function when its module is emitted. It
holds the body as an `available_externally` definition plus everything copied
with it: declarations of what it references, private constants it reads
(renamed by content), the struct types, attribute groups and metadata it uses,
all renumbered in first-use order. Its hash is therefore stable under edits
elsewhere in the module, and because the backend imports exactly these bytes,
keying an importer on the fragment hash covers everything it reads of the
function.

Debug info is not carried across: LLVM drops it silently without the module
flags, and importing the flags makes `link_in`-style merging fail on conflicts.
Other metadata is kept with its full closure unless that closure reaches debug
info, in which case the attachment (a hint) is dropped; a function that passes
debug metadata as a call argument is not importable.
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass

import orjson

from . import irtext
from .irtext import ModuleText, quote, unquote

DBG_ATTACH = re.compile(r",?[ \t]*!dbg ![0-9]+")
ATTACH = re.compile(r"(,?[ \t]*)!([a-zA-Z_.][-a-zA-Z_.0-9]*) !([0-9]+)")
ATTR_GROUP = re.compile(r"\s+#[0-9]+\b")
MD_ARG = re.compile(r"metadata !([0-9]+)\b")
HEAD_EXTRAS = re.compile(r"\s+(personality|prefix|prologue) (ptr @" + irtext.NAME + r"|\S+ \S+)")
GC_CLAUSE = re.compile(r"\s+gc \"[^\"]*\"")
TYPE_REF = re.compile(r'"[^"]*"|%(' + irtext.NAME + r')')
# `\b(?:call|invoke|callbr)\b...`, spelt to begin with a letter: the regex
# engine then skips to the next `c` or `i` instead of trying every position.
CALL_TARGET = re.compile(r"(?:c(?<!\wc)all(?:br)?|i(?<!\wi)nvoke)\b[^@]*?@(" + irtext.NAME + r")\(")
INTERPOSABLE = ("weak", "linkonce", "extern_weak", "common")
# The longest private constant (as printed) a fragment copies. A copy is
# emitted in every importer that keeps it, and the linker merges only C
# strings and constants of 4 to 32 bytes: bat's 900 KB of embedded assets
# were in its executable twice. A longer one is promoted and declared, as
# LLVM's own ThinLTO does with every local it imports a reference to.
COPY_LIMIT = 1024


@dataclass(frozen=True, slots=True)
class Fragment:
    """One function's import fragment, as the cache stores it: orjson writes
    these fields as an object's keys, and `Fragment(**stored)` reads it back."""
    define: str                 # the body, `available_externally`
    name: str                   # what it is defined as (a local under its promoted name)
    consts: dict[str, str]      # copied private constants, named by content
    decls: dict[str, str]       # declarations of what it references
    types: dict[str, str]       # the struct types it uses
    attrs: list[str]            # attribute groups, numbered from #0
    mds: list[str]              # metadata, numbered from !0
    hash: str                   # of everything above: what an importer's key holds
    promote: list[str]          # locals of its module that importing it makes external
    deps: list[str]             # the symbols it declares
    callees: list[str]          # the functions it calls


@functools.lru_cache(maxsize=65536)
def _module_tag(module_id: str) -> str:
    return hashlib.sha256(module_id.encode()).hexdigest()[:12]


def promoted_name(name: str, module_id: str) -> str:
    """The external name a local gets when another module needs it.

    Derived from the module's stable id only, so it survives any edit.
    """
    return f"{name}.llvm.{_module_tag(module_id)}"


def digest(obj) -> str:
    return hashlib.sha256(orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _md_closure(mt: ModuleText, roots) -> list[int]:
    seen: dict[int, None] = {}         # in visiting order
    stack = list(roots)
    while stack:
        n = stack.pop()
        if n in seen or n not in mt.mds:
            continue
        seen[n] = None
        stack.extend(reversed(irtext.md_refs(mt.mds[n])))
    return list(seen)


def _has_debug_info(mt: ModuleText, root: int) -> bool:
    return any("!DI" in mt.mds[n] for n in _md_closure(mt, [root]))


def _strip_debug(define: str, debug) -> str | None:
    """Body without debug info (`debug(n)`: whether metadata `!n` reaches
    any); None when debug metadata is load-bearing."""
    lines = [irtext.strip_comment(line) for line in define.split("\n")]
    if "dbg" in define:
        lines = [line for line in lines if not line.lstrip().startswith("#dbg_") and "@llvm.dbg." not in line]
    body = "\n".join(lines)
    if "!" not in body:
        return body
    if "!dbg " in body:
        body = DBG_ATTACH.sub("", body)
    if debug is None:                 # no metadata of the module is debug info
        return body
    body = ATTACH.sub(lambda m: "" if debug(int(m.group(3))) else m.group(0), body)
    if any(debug(int(n)) for n in MD_ARG.findall(body)):
        return None
    return body


# The declarations below are pure functions of their text, and every
# fragment that calls a function declares it again: a worker remembers them.
@functools.lru_cache(maxsize=8192)
def _strip_global_extras(line: str) -> str:
    """A global line without metadata attachments or attribute groups."""
    line = irtext.strip_comment(line)
    # (each pattern is tried at every position of what can be a megabyte
    # of constant: look for its sigil first)
    if "!" in line:
        line = ATTACH.sub("", line)
    return ATTR_GROUP.sub("", line) if "#" in line else line


def _skip_type(s: str, i: int) -> int:
    """Index just past the IR type starting at s[i]."""
    pairs = {"{": "}", "[": "]", "<": ">", "(": ")"}
    if s[i] in pairs or s.startswith("<{", i):
        depth = 0
        while True:
            ch = s[i]
            if ch == '"':
                i = s.index('"', i + 1)
            elif ch in pairs:
                depth += 1
            elif ch in "}])>":
                depth -= 1
                if depth == 0:
                    return i + 1
            i += 1
    m = re.compile(r"%" + irtext.NAME + r"|[a-z0-9_]+").match(s, i)
    j = m.end()
    am = re.compile(r" addrspace\([0-9]+\)").match(s, j)
    return am.end() if am else j


@functools.lru_cache(maxsize=8192)
def global_declaration(line: str, name: str, visibility: str | None = None) -> str:
    """`@g = external ... global T` for a variable definition line."""
    eq = line.index(" = ") + 3
    m = re.search(r"\b(global|constant)\b", line[eq:])
    prefix = line[eq:eq + m.start()].split()
    keep = [w for w in prefix if w.startswith(("thread_local", "addrspace", "externally_initialized"))]
    vis = visibility or irtext.visibility_of(line[eq:eq + m.start()])
    tstart = eq + m.end() + 1
    tend = _skip_type(line, tstart)
    words = ["external"] + ([vis] if vis != "default" else []) + keep + [m.group(1)]
    align = re.search(r", align [0-9]+", line[tend:])
    return f"@{quote(name)} = " + " ".join(words) + " " + line[tstart:tend] + (align.group(0) if align else "")


@functools.lru_cache(maxsize=8192)
def function_declaration(head: str, name: str, new_name: str | None = None,
                         visibility: str | None = None) -> str:
    """`declare ...` for a `define ... {` or `declare ...` line."""
    head = irtext.strip_comment(head)
    if head.startswith("define "):
        head = "declare " + head[len("define "):].rstrip().removesuffix("{").rstrip()
    head = irtext.drop_comdat(head)
    # Each pattern is tried at every position of a long head: look for its word first.
    if "personality" in head or "prefix" in head or "prologue" in head:
        head = HEAD_EXTRAS.sub("", head)
    if "!" in head:
        head = ATTACH.sub("", head)
    if 'gc "' in head:
        head = GC_CLAUSE.sub("", head)
    head = irtext.set_linkage(head, name, "", visibility)
    if new_name and new_name != name:
        head = irtext.substitute(head, {name: new_name})
    return head


class FragmentBuilder:
    """Builds the fragments of one module's defined functions."""

    def __init__(self, mt: ModuleText, module_id: str):
        self.mt = mt
        self.module_id = module_id
        self._const_names: dict[str, str | None] = {}
        self._const_text: dict[str, str] = {}
        self._origin: dict[str, str] = {}        # new name -> local it stands for
        self._locals: dict[str, bool] = {}
        self._type_refs: dict[str, set[str]] = {}    # text -> the module's types it names
        self._decls: dict[tuple[str, str], str | None] = {}
        # Remembered: the fragments of a module share most declarations and metadata.
        self._attr_and_md_refs = functools.cache(irtext.attr_and_md_refs)
        self._md_closure = functools.cache(lambda n: _md_closure(mt, [n]))
        # How TYPE_REF finds each of the module's types (`%name` or `%"name"`;
        # a string literal it skips reads as "", so a type named "" is only `%""`).
        self._type_spellings = {s: t for t in mt.types for s in ([t] if t else []) + ['"' + t + '"']}
        # Whether metadata `!n` reaches debug info, for every function of the
        # module; None when none is (a release build's), as no answer can be yes.
        self._debug = (functools.cache(lambda n: _has_debug_info(mt, n))
                       if any("!DI" in text for text in mt.mds.values()) else None)

    # -- naming of the locals a fragment refers to -------------------------
    def is_local(self, name: str) -> bool:
        if name not in self._locals:
            ent = self.mt.functions.get(name) or self.mt.globals.get(name)
            line = irtext.first_line(ent.text) if ent else ""
            if line.startswith("@"):
                line = line[line.index(" = ") + 3:]
            self._locals[name] = bool(ent) and irtext.linkage_of(line) in irtext.LOCAL_LINKAGES
        return self._locals[name]

    def _copyable_const(self, name: str) -> str | None:
        """Content name for a private immutable global that may be copied, else None."""
        if name in self._const_names:
            return self._const_names[name]
        self._const_names[name] = None            # guards cycles: they get promoted
        ent = self.mt.globals.get(name)
        if ent is None or ent.kind != "global" or len(ent.text) > COPY_LIMIT:
            return None
        line = _strip_global_extras(ent.text)
        prefix = line[line.index(" = ") + 3:].split(" constant ")[0]
        words = prefix.split()
        if (" constant " not in line or "unnamed_addr" not in words or "thread_local" in prefix
                or not any(w in words for w in irtext.LOCAL_LINKAGES) or "section " in line):
            return None
        body = irtext.substitute(line, self.rename_map(irtext.global_refs(line), skip=name))
        content = hashlib.sha256(body.split(" = ", 1)[1].encode()).hexdigest()[:20]
        new = f"__twc.{content}"
        self._const_names[name] = new
        self._const_text[new] = "@" + new + " = " + body.split(" = ", 1)[1]
        return new

    def rename_map(self, refs, skip: str | None = None) -> dict[str, str]:
        out = {}
        for r in refs:
            if r == skip or r in out or not self.is_local(r):
                continue
            out[r] = self._copyable_const(r) or promoted_name(r, self.module_id)
            self._origin[out[r]] = r
        return out

    # -- the fragment -------------------------------------------------------
    def build(self, name: str) -> tuple[Fragment | None, str]:
        """(fragment, "") or (None, why it cannot be imported)."""
        mt = self.mt
        define = mt.functions[name].text
        if "blockaddress(" in define:
            return None, "takes a block address"
        body = _strip_debug(define, self._debug)
        if body is None:
            return None, "passes debug metadata as an argument"
        refs = irtext.global_refs(body)
        for r in refs:
            ent = mt.globals.get(r)
            if ent is not None and ent.kind == "alias":
                return None, f"references alias @{r}"
        renames = self.rename_map(refs)
        own = renames.get(name, name)

        consts: dict[str, str] = {}
        decls: dict[str, str] = {}
        promote = [name] if name in renames else []
        # (the body's references after the renames: they rename one to one)
        pending = [r for r in dict.fromkeys(renames.get(r, r) for r in refs) if r != own]
        while pending:
            ref = pending.pop(0)
            if ref in consts or ref in decls:
                continue
            if ref in self._const_text:
                consts[ref] = self._const_text[ref]
                pending.extend(r for r in irtext.global_refs(consts[ref]) if r != ref)
                continue
            orig = self._origin.get(ref, ref)
            if orig != ref and orig not in promote:
                promote.append(orig)
            decl = self._declaration(orig, ref)
            if decl is None:
                return None, f"references unknown @{orig}"
            decls[ref] = decl
        ordered = [body] + [consts[k] for k in sorted(consts)] + [decls[k] for k in sorted(decls)]
        attr_map: dict[int, int] = {}
        md_roots: list[int] = []
        for text in ordered:
            attrs, mds = self._attr_and_md_refs(text)
            for a in attrs:
                attr_map.setdefault(a, len(attr_map))
            md_roots.extend(mds)
        md_order: dict[int, None] = {}       # in first-use order
        for root in md_roots:
            md_order.update(dict.fromkeys(self._md_closure(root)))
        md_map = {old: i for i, old in enumerate(md_order)}
        attr_texts = [mt.attrs[a] for a in attr_map]
        md_texts = [irtext.substitute(mt.mds[n], mds=md_map) for n in md_order]

        def renum(t: str) -> str:
            return irtext.substitute(t, mds=md_map, attrs=attr_map)

        # Renamed and renumbered in one pass: renaming leaves every `#N` and
        # `!N`, so the body as it was names the groups and metadata it will.
        body = irtext.substitute(body, renames, mds=md_map, attrs=attr_map)
        first, rest = body.split("\n", 1)
        first = irtext.drop_comdat(first)
        first = irtext.set_linkage(first, own, "available_externally",
                                   "hidden" if name in renames else None)
        body = first + "\n" + rest
        types = self._type_closure(ordered + md_texts)
        imported = {
            "define": body,
            "name": own,
            "consts": {k: renum(v) for k, v in sorted(consts.items())},
            "decls": {k: renum(v) for k, v in sorted(decls.items())},
            "types": types,
            "attrs": attr_texts,
            "mds": md_texts,
        }
        return Fragment(**imported, hash=digest(imported), promote=promote, deps=sorted(decls),
                        callees=sorted({unquote(c) for c in CALL_TARGET.findall(body)} - {own})), ""

    def _declaration(self, orig: str, ref: str) -> str | None:
        """How a fragment declares `ref`, which stands for the module's `orig`
        (None: the module has no such symbol). Remembered: the fragments of
        a module declare the same functions again and again."""
        key = (orig, ref)
        if key not in self._decls:
            mt = self.mt
            vis = "hidden" if orig != ref else None
            if orig in mt.functions:
                self._decls[key] = function_declaration(irtext.first_line(mt.functions[orig].text), orig, ref, vis)
            elif orig in mt.globals:
                self._decls[key] = global_declaration(_strip_global_extras(mt.globals[orig].text), ref, vis)
            else:
                self._decls[key] = None
        return self._decls[key]

    def _types_in(self, text: str) -> set[str]:
        """The module's types `text` names (remembered: fragments share
        their declarations, and the types name each other)."""
        if text not in self._type_refs:
            spellings = self._type_spellings
            self._type_refs[text] = {spellings[n] for n in spellings.keys() & set(TYPE_REF.findall(text))}
        return self._type_refs[text]

    def _type_closure(self, texts: list[str]) -> dict[str, str]:
        """Sorted by name, so found in any order."""
        types = self.mt.types
        if not types:           # rustc's modules name no struct types: skip reading the texts
            return {}
        out: dict[str, str] = {}
        stack = [n for t in texts for n in self._types_in(t)]
        while stack:
            t = stack.pop()
            if t not in out:
                out[t] = types[t].text
                stack.extend(self._types_in(out[t]))
        return dict(sorted(out.items()))


def merge(mt: ModuleText, fragments: list[Fragment]) -> list[str]:
    """Add imported fragments to an importer's module text, in place.

    Returns the names actually imported; a fragment whose struct types clash
    with the importer's is skipped (its function stays a declaration), which
    is deterministic in the inputs the key already covers.
    """
    next_attr = max(mt.attrs, default=-1) + 1
    next_md = max(mt.mds, default=-1) + 1
    imported = []
    for frag in fragments:
        if any(t in mt.types and mt.types[t].text != text for t, text in frag.types.items()):
            continue
        attr_map = {i: next_attr + i for i in range(len(frag.attrs))}
        md_map = {i: next_md + i for i in range(len(frag.mds))}
        next_attr += len(attr_map)
        next_md += len(md_map)
        for i, text in enumerate(frag.attrs):
            mt.attrs[attr_map[i]] = text
        for i, text in enumerate(frag.mds):
            mt.mds[md_map[i]] = irtext.substitute(text, mds=md_map)
        for t, text in frag.types.items():
            if t not in mt.types:
                mt.types[t] = irtext.Entity("type", t, text)
                mt.order.insert(0, ("types", t))
        for cname, text in frag.consts.items():
            if cname not in mt.globals:
                mt.globals[cname] = irtext.Entity("global", cname, text)
                mt.order.append(("globals", cname))
        for dname, text in frag.decls.items():
            if dname in mt.functions or dname in mt.globals:
                continue
            text = irtext.substitute(text, mds=md_map, attrs=attr_map)
            if text.startswith("@"):
                mt.globals[dname] = irtext.Entity("global", dname, text)
                mt.order.append(("globals", dname))
            else:
                mt.functions[dname] = irtext.Entity("declare", dname, text)
                mt.order.append(("functions", dname))
        name = frag.name
        text = irtext.substitute(frag.define, mds=md_map, attrs=attr_map)
        existing = mt.functions.get(name)
        if existing is None:
            mt.order.append(("functions", name))
        elif existing.kind == "define":
            continue
        mt.functions[name] = irtext.Entity("define", name, text)
        imported.append(name)
    return imported

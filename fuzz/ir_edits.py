"""Random edits of an IR workspace, each a list of `tree` changes.

Every proposer looks at the current sources and returns (kind, changes) or
None when it finds nothing to do. Values and names come from the step number
and the generator, so a seed replays the same sequence.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable

from thinwatch.engine.fragment import TYPE_REF, function_declaration, global_declaration
from thinwatch.engine.irtext import attr_refs, linkage_of, md_refs, set_linkage

from .ir_model import ENTRY, Model, code_refs, is_definition, is_local

Proposal = tuple[str, list[dict]] | None
VALUE = r"(?:%[-\w.]+|-?\d+)"
BINOP = re.compile(r"^(\s+%([-\w.]+) = )(add|sub|mul|xor|and|or|shl|lshr)((?: nuw| nsw| exact)*) i(\d+) "
                   r"(" + VALUE + r"), (" + VALUE + r")(\s*(?:;.*)?)$")
UNARY_SIG = re.compile(r"^define [^@]*\bi(32|64) @([-\w.]+)\(i\1(?: [^,()]*)?\)")
INLINE = ("noinline", "alwaysinline")


def _lines(text: str) -> list[str]:
    return text.split("\n")


def _loop_values(body: str) -> set[str]:
    """Values feeding a phi or a comparison: changing how they are computed
    could make a loop run forever."""
    return {v for line in _lines(body) if " phi " in line or " icmp " in line
            for v in re.findall(r"%([-\w.]+)", line)}


def _binops(body: str) -> list[re.Match]:
    loops = _loop_values(body)
    return [m for line in _lines(body) if (m := BINOP.match(line)) and m.group(2) not in loops]


def _replace_line(path: str, old: str, new: str) -> dict:
    return {"path": path, "old": old + "\n", "new": new + "\n"}


def _pick_define(model: Model, rng: random.Random, ok: Callable = lambda p, e: True):
    choices = [(p, e) for p, e in model.definitions("define") if ok(p, e)]
    return rng.choice(choices) if choices else (None, None)


def constant(model: Model, rng: random.Random, step: int) -> Proposal:
    path, f = _pick_define(model, rng, lambda p, e: any(m.group(7).lstrip("-").isdigit() for m in _binops(e.text)))
    if not f:
        return None
    m = rng.choice([m for m in _binops(f.text) if m.group(7).lstrip("-").isdigit()])
    small = m.group(3) in ("and", "shl", "lshr")
    value = rng.randrange(0, 16) if small else rng.randrange(1, 1 << 20)
    new = f"{m.group(1)}{m.group(3)}{m.group(4)} i{m.group(5)} {m.group(6)}, {value}{m.group(8)}"
    return "constant", [_replace_line(path, m.group(0), new)]


def opcode(model: Model, rng: random.Random, step: int) -> Proposal:
    path, f = _pick_define(model, rng, lambda p, e: _binops(e.text))
    if not f:
        return None
    m = rng.choice(_binops(f.text))
    op = rng.choice([o for o in ("add", "sub", "mul", "xor", "and", "or") if o != m.group(3)])
    new = f"{m.group(1)}{op} i{m.group(5)} {m.group(6)}, {m.group(7)}{m.group(8)}"
    return "opcode", [_replace_line(path, m.group(0), new)]


def _unary(model: Model, path: str, width: str) -> list[str]:
    """Functions of type iW(iW) a body in `path` may call."""
    out = []
    for name, ds in model.defs.items():
        for p, e in ds:
            m = UNARY_SIG.match(e.text)
            if m and m.group(1) == width and (p == path or not is_local(e)) and name not in ENTRY:
                out.append(name)
                break
    return sorted(set(out))


def _declare(model: Model, path: str, name: str) -> list[dict]:
    """The declaration `path` needs to reference @name, if it has none."""
    if name in model.entities(path):
        return []
    src = model.public_definition(name)
    if src is None:
        return []
    e = src[1]
    line = function_declaration(e.text.split("\n")[0], name) if e.kind == "define" else global_declaration(e.text, name)
    return [{"path": path, "old": "", "new": f"\n{line}\n"}]


def _new_function(model: Model, rng: random.Random, path: str, name: str) -> tuple[str, list[dict]]:
    width = rng.choice(("32", "64"))
    linkage = rng.choice(("", "", "internal ", "linkonce_odr ", "weak_odr "))
    calls = [g for g in _unary(model, path, width) if model.weight(g) <= 8]
    body = [f"define {linkage}i{width} @{name}(i{width} %x) {{", "entry:",
            f"  %a = xor i{width} %x, {rng.randrange(1, 1 << 16)}"]
    extra = []
    if calls and rng.random() < 0.7:
        g = rng.choice(calls)
        body.append(f"  %b = call i{width} @{g}(i{width} %a)")
        extra = _declare(model, path, g)
    else:
        body.append(f"  %b = mul i{width} %a, {rng.randrange(3, 1 << 16, 2)}")
    body += [f"  ret i{width} %b", "}"]
    return "\n".join(body), extra


def add_function(model: Model, rng: random.Random, step: int) -> Proposal:
    path = rng.choice(sorted(model.mods))
    text, extra = _new_function(model, rng, path, f"fz{step}")
    return "add-function", [{"path": path, "old": "", "new": f"\n{text}\n"}, *extra]


def add_module(model: Model, rng: random.Random, step: int) -> Proposal:
    crate = rng.choice(sorted({p.split("/")[0] for p in model.mods}))
    path = f"{crate}/fz{step}.ll"
    text, extra = _new_function(model, rng, path, f"fz{step}")
    decls = "".join(c["new"] for c in extra)
    return "add-module", [{"path": path, "create": f"; added by the fuzzer at step {step}\n{decls}\n{text}\n"}]


def remove_module(model: Model, rng: random.Random, step: int) -> Proposal:
    path = rng.choice(sorted(model.mods))
    return "remove-module", [{"path": path, "delete": model.texts[path]}]


def add_call(model: Model, rng: random.Random, step: int) -> Proposal:
    path, f = _pick_define(model, rng, lambda p, e: _binops(e.text) and not md_refs(e.text))
    if not f:
        return None
    m = rng.choice(_binops(f.text))
    if not m.group(6).startswith("%"):
        return None
    calls = [g for g in _unary(model, path, m.group(5))
             if g != f.name and model.weight(g) <= 8 and not model.reaches(g, f.name)]
    if not calls:
        return None
    g, w, v = rng.choice(calls), m.group(5), f"%fzc{step}"
    indent = re.match(r"\s*", m.group(0)).group(0)
    new = (f"{indent}{v} = call i{w} @{g}(i{w} {m.group(6)})\n"
           f"{m.group(1)}{m.group(3)}{m.group(4)} i{w} {v}, {m.group(7)}{m.group(8)}")
    return "add-call", [_replace_line(path, m.group(0), new), *_declare(model, path, g)]


def _head(e) -> str:
    return e.text.split("\n")[0]


def linkage(model: Model, rng: random.Random, step: int) -> Proposal:
    choices = [(p, e) for p, e in model.definitions() if e.name not in ENTRY and "comdat" not in _head(e)]
    if not choices:
        return None
    path, e = rng.choice(choices)
    now = linkage_of(_head(e))
    to = rng.choice([k for k in ("internal", "", "linkonce_odr", "weak_odr") if k != now and (k or now != "external")])
    return f"linkage-{to or 'external'}", [_replace_line(path, _head(e), set_linkage(_head(e), e.name, to))]


def _params_end(head: str, name: str) -> int:
    i = head.index(f"@{name}(") + len(name) + 2
    depth = 1
    while depth:
        depth += {"(": 1, ")": -1}.get(head[i], 0)
        i += 1
    return i


def inline(model: Model, rng: random.Random, step: int) -> Proposal:
    path, f = _pick_define(model, rng, lambda p, e: re.search(r"@[-\w.$]+\(", _head(e)))
    if not f:
        return None
    head = _head(f)
    end = _params_end(head, f.name)
    words = [w for w in head[end:].split() if w not in INLINE]
    now = next((w for w in head[end:].split() if w in INLINE), "")
    to = rng.choice([a for a in ("", *INLINE) if a != now])
    new = head[:end] + " " + " ".join(([to] if to else []) + words)
    return f"inline-{to or 'default'}", [_replace_line(path, head, new)]


def move(model: Model, rng: random.Random, step: int) -> Proposal:
    """Move a function to another module: the source keeps a declaration,
    the target gets the body, inline attributes and what it references."""
    path, f = _pick_define(model, rng, lambda p, e: not is_local(e) and not md_refs(e.text)
                           and not attr_refs("\n".join(_lines(e.text)[1:])) and "comdat" not in _head(e))
    if not f or len(model.mods) < 2:
        return None
    target = rng.choice(sorted(set(model.mods) - {path}))
    there = model.entities(target)
    if f.name in there and is_definition(there[f.name]):
        return None
    src_mt = model.mods[path]
    head = _head(f)
    for n in attr_refs(head):
        head = re.sub(rf"#{n}\b", src_mt.attrs[n].strip("{} "), head)
    moved = "\n".join([head, *_lines(f.text)[1:]])
    extra = []
    for r in sorted(code_refs(f.text) - {f.name}):
        here = model.entities(path).get(r)
        if here is not None and is_definition(here) and is_local(here):
            return None
        if r in there:
            if is_local(there[r]):
                return None
        elif here is not None and not is_definition(here):
            extra.append({"path": target, "old": "", "new": f"\n{here.text}\n"})
        else:
            extra += _declare(model, target, r)
    for t in sorted({m.group(1) for m in TYPE_REF.finditer(f.text) if m.group(1)} & set(src_mt.types)):
        mine, theirs = src_mt.types[t], model.mods[target].types.get(t)
        if theirs is not None and theirs.text != mine.text:
            return None
        if theirs is None:
            extra.append({"path": target, "old": "", "new": f"\n{mine.text}\n"})
    decl = function_declaration(_head(f), f.name)
    put = ({"path": target, "old": there[f.name].text + "\n", "new": moved + "\n"} if f.name in there
           else {"path": target, "old": "", "new": f"\n{moved}\n"})
    return "move", [{"path": path, "old": f.text, "new": decl}, put, *extra]


def _globals(model: Model) -> list:
    return [(p, e) for p, e in model.definitions("global") if not e.name.startswith("llvm.")]


def global_init(model: Model, rng: random.Random, step: int) -> Proposal:
    choices = [(p, e) for p, e in _globals(model) if re.search(r"\bi\d+ -?\d+", e.text.split(" = ", 1)[1])]
    if not choices:
        return None
    path, g = rng.choice(choices)
    eq = g.text.index(" = ")
    m = rng.choice(list(re.finditer(r"\bi(\d+) (-?\d+)", g.text[eq:])))
    value = rng.randrange(0, 100 if m.group(1) == "8" else 1 << 16)
    s, e = eq + m.start(2), eq + m.end(2)
    return "global-init", [_replace_line(path, g.text, g.text[:s] + str(value) + g.text[e:])]


def constness(model: Model, rng: random.Random, step: int) -> Proposal:
    if not (choices := _globals(model)):
        return None
    path, g = rng.choice(choices)
    eq = g.text.index(" = ")
    m = re.search(r"\b(global|constant)\b", g.text[eq:])
    if m.group(1) == "global":
        writes = re.compile(r"\b(store|atomicrmw|cmpxchg|call|invoke)\b.*@" + re.escape(g.name) + r"(?![-\w.$])")
        if any(writes.search(line) for t in model.texts.values() for line in _lines(t)):
            return None
    to = "constant" if m.group(1) == "global" else "global"
    new = g.text[:eq + m.start()] + to + g.text[eq + m.end():]
    return f"make-{to}", [_replace_line(path, g.text, new)]


def rename(model: Model, rng: random.Random, step: int) -> Proposal:
    names = sorted(n for n in model.defs if n not in ENTRY and not n.startswith("llvm."))
    name = rng.choice(names)
    return "rename", [{"rename": [name, re.sub(r"\.r\d+$", "", name) + f".r{step}"]}]


def comment(model: Model, rng: random.Random, step: int) -> Proposal:
    path = rng.choice(sorted(model.mods))
    return "comment", [{"path": path, "old": "", "new": f"; fuzz note {step}\n"}]


def break_module(model: Model, rng: random.Random, step: int) -> Proposal:
    path = rng.choice(sorted(model.mods))
    return "break", [{"path": path, "old": "", "new": f"\nfuzz_broken_{step} = nonsense\n"}]


# kind -> (weight, proposer, checked: may not add a problem)
PROPOSERS = {
    "constant": (14, constant, True), "opcode": (8, opcode, True), "add-function": (6, add_function, True),
    "add-call": (8, add_call, True), "linkage": (10, linkage, True), "inline": (8, inline, True),
    "move": (6, move, True), "global-init": (6, global_init, True), "constness": (4, constness, True),
    "add-module": (3, add_module, True), "remove-module": (2, remove_module, True),
    "rename": (6, rename, True), "comment": (3, comment, True), "break": (2, break_module, False),
}

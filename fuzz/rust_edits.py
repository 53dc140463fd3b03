"""Random edits of a Cargo workspace, each a list of `tree` changes. A
`Layout` says where things are in each workspace the fuzzer knows (the
sample, the bench.generate one, the corpus program). Edits stay in the code
above `#[cfg(test)]`; the ones that reach into a library add a print to the
binary's `main` so the change is linked and its result shown."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from functools import partial

from .tree import Tree

Proposal = tuple[str, list[dict]] | None
TEST_ANCHOR = "#[cfg(test)]"
LITERAL = re.compile(r"(?<![\w.])(\d+)(\.\d+)?(?![\w.])")
OPERATOR = re.compile(r"(?<=\w|\)|\]) ([-+*]) (?=[\w(])")
FN = re.compile(r"^([ \t]*)((?:#\[inline(?:\((?:never|always)\))?\] )?)(pub(?:\(crate\))? )?fn (\w+)", re.M)
STATIC = re.compile(r"^(pub )?(static|const) ([A-Z_0-9]+):", re.M)
# a module's top-level items and simple `use` lines (nested braces, globs: not understood)
ITEM = re.compile(r"^(?:#\[[^\]\n]*\] )?(pub(?:\([\w:]+\))? )?(?:fn|static|const|struct|enum|type|trait|mod) (\w+)",
                  re.M)
USE = re.compile(r"^(?:pub )?use ([\w:]+?)(?:::\{([\w, ]+)\}|(?: as (\w+))?);$", re.M)
ROOTS = ("lib.rs", "main.rs")
EXTERN = ("std", "core", "alloc")


@dataclass(frozen=True)
class Layout:
    crates: dict[str, tuple[str, tuple[str, ...]]]   # crate -> (source dir, its workspace dependencies)
    main: str                  # the binary's main.rs
    anchor: str                # a line of `main` that prints go after
    binary: str                # the executable, as cargo names it
    generics: tuple[str, ...]  # library generics called with {a}, {b} of one type from `numeric`
    numeric: tuple[str, ...]

    def crate_of(self, path: str) -> str | None:
        return next((c for c, (src, _) in self.crates.items() if path.startswith(src + "/")), None)

    def libs(self) -> list[tuple[str, str]]:
        """(path prefix from main, root file) of every library; a workspace
        without one edits its binary's own crate."""
        out = [(c.replace("-", "_"), f"{src}/lib.rs") for c, (src, _) in self.crates.items()
               if not f"{src}/main.rs" == self.main]
        return out or [("crate", self.main)]


_GEN_LIBS = ("lib0", "lib1", "lib2")
LAYOUTS = {
    "sample": Layout(
        {"geometry": ("geometry/src", ()), "stats": ("stats/src", ("geometry",)),
         "app": ("app/src", ("geometry", "stats"))},
        "app/src/main.rs", '    println!("{TITLE}");\n', "app",
        ("stats::mean(&[{a}, {b}])", "stats::max_of(&[{a}, {b}])", "stats::summarize(&[{a}, {b}])",
         "stats::variance(&[{a}, {b}, {a}])", "geometry::Pair::new({a}, {b}).larger()",
         "geometry::Pair::new({a}, {b}).swapped()"),
        ("u8", "i8", "u16", "i16", "u32", "i32", "f32", "f64")),
    # fuzz.target_rust.GENERATED: lib<c> depends on every lib below it
    "generated": Layout(
        {**{lib: (f"{lib}/src", _GEN_LIBS[:i]) for i, lib in enumerate(_GEN_LIBS)},
         "app": ("app/src", _GEN_LIBS)},
        "app/src/main.rs", "fn main() {\n", "app",
        tuple(f"{lib}::fold_all(&[{{a}}, {{b}}], {k})" for k, lib in enumerate(_GEN_LIBS)),
        ("u8", "u16", "u32", "u64")),
    "corpus": Layout(
        {"roundtrip": ("roundtrip/src", ())}, "roundtrip/src/main.rs", "fn main() {\n", "roundtrip",
        ("serde_json::to_string(&[{a}, {b}]).unwrap()", "serde_json::to_string(&({a}, Some({b}))).unwrap()",
         "serde_json::to_value(&vec![{a}, {b}, {a}]).unwrap()",
         'serde_json::from_str::<Vec<{ty}>>(&format!("[{{}}, {{}}]", {a}, {b})).unwrap()'),
        ("u8", "i8", "u16", "i32", "u64", "f32", "f64")),
}


def _code(text: str) -> str:
    return text.split(TEST_ANCHOR)[0]


def _sources(tree: Tree) -> list[str]:
    return sorted(p for p in tree if p.startswith("src/") or "/src/" in p)


def _code_lines(tree: Tree) -> list[tuple[str, str]]:
    return [(p, line) for p in _sources(tree) for line in _code(tree[p]).split("\n")
            if line.strip() and not line.lstrip().startswith(("//", "#", "use ", "mod ")) and '"' not in line]


def _line(path: str, old: str, new: str) -> list[dict]:
    return [{"path": path, "old": old + "\n", "new": new + "\n"}]


def literal(lay: Layout, tree: Tree, rng: random.Random, step: int) -> Proposal:
    sites = [(p, line, m) for p, line in _code_lines(tree) for m in LITERAL.finditer(line)]
    path, line, m = rng.choice(sites)
    value = f"{rng.randrange(0, 10)}.{rng.choice('05')}" if m.group(2) else str(rng.randrange(1, 10))
    return "literal", _line(path, line, line[:m.start()] + value + line[m.end():])


def operator(lay: Layout, tree: Tree, rng: random.Random, step: int) -> Proposal:
    sites = [(p, line, m) for p, line in _code_lines(tree) if not re.search(r"\bfn\b|\bimpl\b|<", line)
             for m in OPERATOR.finditer(line)]     # not a trait bound's `+`
    if not sites:
        return None
    path, line, m = rng.choice(sites)
    op = rng.choice([o for o in "+-*" if o != m.group(1)])
    return "operator", _line(path, line, line[:m.start(1)] + op + line[m.end(1):])


def _at_line(path: str, old: str, new: str) -> dict:
    """A change of a function's head, anchored at its line start: without the
    newline, `fn f` -> `pub fn f` reads as an insertion before `fn f`, and
    its revert (tree.invert) would drop the file's first `pub `."""
    return {"path": path, "old": "\n" + old, "new": "\n" + new}


def _mentioned_elsewhere(tree: Tree, path: str, name: str) -> bool:
    return any(re.search(rf"\b{name}\b", _code(tree[p])) for p in _sources(tree) if p != path)


def visibility(lay: Layout, tree: Tree, rng: random.Random, step: int) -> Proposal:
    sites = [(p, m) for p in _sources(tree) for m in FN.finditer(_code(tree[p])) if m.start()
             and m.group(4) not in ("main", "fmt")     # fmt: a trait method, never `pub`
             and (not m.group(3) or not _mentioned_elsewhere(tree, p, m.group(4)))]
    if not sites:
        return None
    path, m = rng.choice(sites)
    new = f"{m.group(1)}{m.group(2)}{'' if m.group(3) else 'pub '}fn {m.group(4)}"
    return "private" if m.group(3) else "pub", [_at_line(path, m.group(0), new)]


def inline(lay: Layout, tree: Tree, rng: random.Random, step: int) -> Proposal:
    sites = [(p, m) for p in _sources(tree) for m in FN.finditer(_code(tree[p])) if m.start()]
    path, m = rng.choice(sites)
    attr = rng.choice([a for a in ("", "#[inline] ", "#[inline(never)] ", "#[inline(always)] ") if a != m.group(2)])
    new = f"{m.group(1)}{attr}{m.group(3) or ''}fn {m.group(4)}"
    return f"inline-{attr.strip('#[] ') or 'default'}", [_at_line(path, m.group(0), new)]


def _print_in_main(lay: Layout, step: int, expr: str, fmt: str = "{:?}") -> dict:
    return {"path": lay.main, "old": lay.anchor, "new": lay.anchor + f'    println!("fz{step} = {fmt}", {expr});\n'}


def _value(rng: random.Random, ty: str) -> str:
    return f"{rng.randrange(0, 100)}{ty}"


def generic(lay: Layout, tree: Tree, rng: random.Random, step: int) -> Proposal:
    """A new instantiation of a library generic, made in the binary; its
    revert removes it again."""
    ty = rng.choice(lay.numeric)
    # not a function a `private` edit has hidden (one the workspace defines, none of them `pub`)
    code = "".join(_code(tree[p]) for p in _sources(tree))
    usable = [g for g in lay.generics if all(re.search(rf"\bpub fn {f}\b", code) or not re.search(rf"\bfn {f}\b", code)
                                             for f in re.findall(r"(\w+)\(", g))]
    if not usable:
        return None
    expr = rng.choice(usable).format(a=_value(rng, ty), b=_value(rng, ty), ty=ty)
    return "generic", [_print_in_main(lay, step, expr)]


def _in_lib(path: str, code: str, tree: Tree) -> dict:
    if TEST_ANCHOR in tree[path]:
        return {"path": path, "old": TEST_ANCHOR, "new": code + TEST_ANCHOR}
    return {"path": path, "old": "", "new": "\n" + code}       # appended


def add_function(lay: Layout, tree: Tree, rng: random.Random, step: int) -> Proposal:
    crate, path = rng.choice(lay.libs())
    attr = rng.choice(("", "#[inline]\n", "#[inline(never)]\n"))
    code = (f"/// Added by the fuzzer.\n{attr}pub fn fz{step}(x: u64) -> u64 {{\n"
            f"    x.rotate_left({rng.randrange(1, 63)}) ^ {rng.randrange(1, 1 << 20)}\n}}\n\n")
    return "add-function", [_in_lib(path, code, tree),
                            _print_in_main(lay, step, f"{crate}::fz{step}({rng.randrange(1, 99)})")]


def add_static(lay: Layout, tree: Tree, rng: random.Random, step: int) -> Proposal:
    crate, path = rng.choice(lay.libs())
    kind = rng.choice(("static", "const"))
    code = f"/// Added by the fuzzer.\npub {kind} FZ{step}: u64 = {rng.randrange(1, 1 << 30)};\n\n"
    return f"add-{kind}", [_in_lib(path, code, tree), _print_in_main(lay, step, f"{crate}::FZ{step}", "{}")]


def static_const(lay: Layout, tree: Tree, rng: random.Random, step: int) -> Proposal:
    sites = [(p, m) for p in _sources(tree) for m in STATIC.finditer(_code(tree[p]))]
    if not sites:
        return None
    path, m = rng.choice(sites)
    to = "const" if m.group(2) == "static" else "static"
    return f"make-{to}", [{"path": path, "old": m.group(0), "new": f"{m.group(1) or ''}{to} {m.group(3)}:"}]


def trait_impl(lay: Layout, tree: Tree, rng: random.Random, step: int) -> Proposal:
    """A std trait implemented in a library, used from main: Display for the
    sample's Point, or for a new type (its own trait objects and vtable)."""
    digits = rng.randrange(0, 4)
    head = "impl std::fmt::Display for Point {"
    if lay.crates.get("geometry") and rng.random() < 0.5 and not any(head in t for t in tree.values()):
        code = (f"{head}\n    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {{\n"
                f'        write!(f, "({{:.{digits}}}, {{:.{digits}}})", self.x, self.y)\n    }}\n}}\n\n')
        return "trait-impl", [_in_lib("geometry/src/lib.rs", code, tree),
                              _print_in_main(lay, step, "geometry::Point::new(1.25, -2.5)", "{}")]
    crate, path = rng.choice(lay.libs())
    code = (f"pub struct Fz{step}(pub u64);\n\nimpl std::fmt::Display for Fz{step} {{\n"
            f"    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {{\n"
            f'        write!(f, "<{{:0{digits + 2}x}}>", self.0 ^ {rng.randrange(1, 1 << 16)})\n    }}\n}}\n\n')
    value = f"{crate}::Fz{step}({rng.randrange(0, 1 << 20)})"
    return "trait-impl", [_in_lib(path, code, tree),
                          _print_in_main(lay, step, f"(&{value} as &dyn std::fmt::Display)", "{}")]


def comment(lay: Layout, tree: Tree, rng: random.Random, step: int) -> Proposal:
    return "comment", [{"path": rng.choice(_sources(tree)), "old": "", "new": f"// fuzz note {step}\n"}]


def break_crate(lay: Layout, tree: Tree, rng: random.Random, step: int) -> Proposal:
    return "break", [{"path": rng.choice(_sources(tree)), "old": "", "new": f"\nfn fz_broken_{step}( {{\n"}]


# -- moving a function to another module or crate -------------------------------

def _module(lay: Layout, path: str) -> str:
    """`crate::a::b` for <src>/a/b.rs (or a/b/mod.rs); `crate` for a root."""
    rel = path[len(lay.crates[lay.crate_of(path)][0]) + 1:]
    if rel in ROOTS:
        return "crate"
    return "::".join(["crate", *rel.removesuffix(".rs").removesuffix("/mod").split("/")])


def _from(lay: Layout, crate: str, module: str, here: str) -> str:
    """`module` of `crate` as code in crate `here` names it."""
    return module if crate == here else crate.replace("-", "_") + module[len("crate"):]


def _items(code: str) -> dict[str, bool]:
    """A module's top-level items -> whether they are `pub`."""
    return {m.group(2): bool(m.group(1)) for m in ITEM.finditer(code)}


def _imports(code: str, module: str, crates: set[str]) -> dict[str, str]:
    """Names a module's simple `use` lines bring in -> their full paths
    (paths relative to the module made `crate::` ones)."""
    out = {}
    for m in USE.finditer(code):
        base, names = m.group(1), m.group(2)
        pairs = ([(n.strip(), f"{base}::{n.strip()}") for n in names.split(",") if n.strip() not in ("", "self")]
                 if names else [(m.group(3) or base.rsplit("::", 1)[-1], base)])
        for name, path in pairs:
            first = path.split("::")[0]
            if first not in ("crate", "self", "super", *EXTERN) and first not in crates:
                path = f"{module}::{path}"       # a child module's item, as `pub use polygon::area` names it
            out[name] = path
    return out


def _function(code: str, m: re.Match) -> str | None:
    """The text of the top-level function `m` starts, with its doc comment
    and attributes; None if its end is not a `}` at column 0."""
    start = m.start()
    while start and re.match(r"///|#\[", code[code.rfind("\n", 0, start - 1) + 1:]):
        start = code.rfind("\n", 0, start - 1) + 1
    end = code.find("\n}\n", m.end())
    if end < 0 or re.search(r"\n[^\s})]", code[m.end():end]):   # another item in between: a one-liner
        return None
    return code[start:end + 3]


def _move_plan(lay: Layout, tree: Tree, src: str, m: re.Match, dest: str, step: int) -> list[dict] | None:
    """The changes that move function `m` of `src` to `dest` (an existing
    file, or a new module of the same crate) so that the workspace still
    compiles: the function is made `pub` there (`pub(crate)` if it was
    private and stays in its crate; renamed if `dest` has the name), `dest` gets a `use` for each name its body takes from `src`'s
    module, the paths naming it elsewhere are rewritten to its new place
    where that crate can name it, and `src` keeps a `use` of the new place
    under the old name (`pub use` if it was `pub`) for everything else.
    None when the body needs what `dest` cannot reach."""
    crates = set(c.replace("-", "_") for c in lay.crates)
    code, name = _code(tree[src]), m.group(4)
    if (text := _function(code, m)) is None:
        return None
    c, d = lay.crate_of(src), lay.crate_of(dest)
    if c != d and d not in lay.crates[c][1]:
        return None                                     # only to a dependency: no cycle
    smod, dmod = _module(lay, src), _module(lay, dest)
    dcode = _code(tree.get(dest, ""))
    public = dmod == "crate" or f"pub mod {dmod.rsplit('::', 1)[-1]};" in tree.get(f"{lay.crates[d][0]}/lib.rs", "")
    if c != d and not public:
        return None                                     # a private module of another crate
    ditems, duses = _items(dcode), _imports(dcode, dmod, crates)
    sitems, suses = _items(code), _imports(code, smod, crates)
    new = f"{name}_mv{step}" if name in ditems or name in duses else name
    body = re.sub(r"//[^\n]*|/\*.*?\*/", "", text, flags=re.S)      # not the names comments mention
    dname = d.replace("-", "_")
    for first in set(re.findall(r"\b(\w+)::", body)):    # qualified paths in the body
        if first == "crate" and c != d:
            return None
        if first in crates and first != dname and c != d and first not in lay.crates[d][1]:
            return None
    uses = []
    for word in sorted(set(re.findall(r"\b[A-Za-z_]\w*\b", body)) - {name}):
        if word in ditems or word in duses:
            continue                                    # dest has its own (the generated TABLE, helper)
        if word in sitems:
            # private items of a module are visible in its descendants
            if c != d or not (sitems[word] or smod == "crate" or dmod.startswith(smod + "::")):
                return None
            uses.append(f"{smod}::{word}")
        elif word in suses:
            path = suses[word]
            first = path.split("::")[0]
            if first in ("self", "super") or (first == "crate" and c != d):
                return None
            uses.append("crate" + path[len(dname):] if first == dname else path)
    # the body's `lib0::x` is `crate::x` in lib0
    there = re.sub(rf"(?<![\w:]){dname}::", "crate::", text) if c != d else text
    # pub(crate) within a crate: a private function's types may be private
    header = f"{m.group(2)}{'pub ' if m.group(3) == 'pub ' or c != d else 'pub(crate) '}fn {new}"
    moved = "".join(f"use {u};\n" for u in uses) + there.replace(m.group(0), header, 1)
    back = f"{m.group(3) or ''}use {_from(lay, d, dmod, c)}::{new}{'' if new == name else f' as {name}'};\n"
    changes = [{"path": src, "old": text, "new": back}]
    if dest in tree:
        changes.append(_in_lib(dest, moved + "\n", tree))
    else:
        root = next(f"{lay.crates[c][0]}/{r}" for r in ROOTS if f"{lay.crates[c][0]}/{r}" in tree)
        changes += [{"path": dest, "create": f"//! Made by the fuzzer: a function moved here.\n\n{moved}"},
                    {"path": root, "old": "", "new": f"\npub mod {dmod.rsplit('::', 1)[-1]};\n"}]
    # callers that name the old place by its path now name the new one
    for path in _sources(tree):
        e = lay.crate_of(path)
        if path == src or (e != d and (d not in lay.crates[e][1] or not public)):
            continue                                    # they go through `back`
        old = re.compile(rf"\b{re.escape(_from(lay, c, smod, e))}::{name}\b")
        for line in _code(tree[path]).split("\n"):
            # not a `use`: it names what it imports (`use a::f;` -> `use b::f_mv3;` would lose `f`)
            if old.search(line) and not re.match(r"\s*(//|(pub(\(crate\))? )?use )", line):
                changes.append({"path": path, "old": line + "\n",
                                "new": old.sub(f"{_from(lay, d, dmod, e)}::{new}", line) + "\n"})
    return changes


def move_function(lay: Layout, tree: Tree, rng: random.Random, step: int) -> Proposal:
    """A function moved to another module of its crate (maybe a new one) or,
    half the time where a crate has workspace dependencies, to one of those
    (few bodies can go there: they are tried until one can)."""
    sites = [(p, m) for p in _sources(tree) if lay.crate_of(p)
             for m in FN.finditer(_code(tree[p])) if not m.group(1) and m.group(4) != "main"]
    rng.shuffle(sites)
    to_crate = rng.random() < 0.5 and any(deps for _, deps in lay.crates.values())
    for src, m in sites:
        c = lay.crate_of(src)
        if to_crate:
            dests = [p for p in _sources(tree) if lay.crate_of(p) in lay.crates[c][1]]
        else:
            dests = [p for p in _sources(tree) if lay.crate_of(p) == c and p != src and "/bin/" not in p]
            dests.append(f"{lay.crates[c][0]}/fzmv{step}.rs")
        for dest in rng.sample(dests, min(3, len(dests))):
            if (changes := _move_plan(lay, tree, src, m, dest, step)) is not None:
                return "move-crate" if to_crate else "move-module", changes
    return None


def proposers(lay: Layout) -> dict:
    """kind -> (weight, proposer, checked); nothing is checked: rustc judges."""
    table = {
        "literal": (12, literal), "operator": (6, operator), "visibility": (6, visibility),
        "inline": (8, inline), "generic": (6, generic), "add-function": (5, add_function),
        "add-static": (3, add_static), "static-const": (3, static_const), "trait-impl": (3, trait_impl),
        "move": (6, move_function), "comment": (2, comment), "break": (2, break_crate),
    }
    return {kind: (weight, partial(fn, lay), False) for kind, (weight, fn) in table.items()}

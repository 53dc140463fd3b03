"""Random edits of the sample Cargo workspace (app, geometry, stats), each a
list of `tree` changes. Edits stay in the code above `#[cfg(test)]`; the
ones that reach into another crate add a use in `app` so the change is
linked and printed."""

from __future__ import annotations

import random
import re

from .tree import Tree

Proposal = tuple[str, list[dict]] | None
LIBS = ("geometry/src/lib.rs", "stats/src/lib.rs")
MAIN = "app/src/main.rs"
MAIN_ANCHOR = '    println!("{TITLE}");\n'
TEST_ANCHOR = "#[cfg(test)]"
LITERAL = re.compile(r"(?<![\w.])(\d+)(\.\d+)?(?![\w.])")
OPERATOR = re.compile(r"(?<=\w|\)|\]) ([-+*]) (?=[\w(])")
FN = re.compile(r"^(\s*)((?:#\[inline(?:\((?:never|always)\))?\] )?)(pub )?fn (\w+)", re.M)
STATIC = re.compile(r"^(pub )?(static|const) ([A-Z_0-9]+):", re.M)
NUMERIC = ("u8", "i8", "u16", "i16", "u32", "i32", "f32", "f64")


def _code(text: str) -> str:
    return text.split(TEST_ANCHOR)[0]


def _code_lines(tree: Tree) -> list[tuple[str, str]]:
    return [(p, line) for p in sorted(tree) if "/src/" in p for line in _code(tree[p]).split("\n")
            if line.strip() and not line.lstrip().startswith(("//", "#", "use ", "mod ")) and '"' not in line]


def _line(path: str, old: str, new: str) -> list[dict]:
    return [{"path": path, "old": old + "\n", "new": new + "\n"}]


def literal(tree: Tree, rng: random.Random, step: int) -> Proposal:
    sites = [(p, line, m) for p, line in _code_lines(tree) for m in LITERAL.finditer(line)]
    path, line, m = rng.choice(sites)
    value = f"{rng.randrange(0, 10)}.{rng.choice('05')}" if m.group(2) else str(rng.randrange(1, 10))
    return "literal", _line(path, line, line[:m.start()] + value + line[m.end():])


def operator(tree: Tree, rng: random.Random, step: int) -> Proposal:
    sites = [(p, line, m) for p, line in _code_lines(tree) if not re.search(r"\bfn\b|\bimpl\b|<", line)
             for m in OPERATOR.finditer(line)]     # not a trait bound's `+`
    path, line, m = rng.choice(sites)
    op = rng.choice([o for o in "+-*" if o != m.group(1)])
    return "operator", _line(path, line, line[:m.start(1)] + op + line[m.end(1):])


def _mentioned_elsewhere(tree: Tree, path: str, name: str) -> bool:
    return any(re.search(rf"\b{name}\b", _code(t)) for p, t in tree.items() if p != path and "/src/" in p)


def visibility(tree: Tree, rng: random.Random, step: int) -> Proposal:
    sites = [(p, m) for p in sorted(tree) if "/src/" in p for m in FN.finditer(_code(tree[p]))
             if m.group(4) not in ("main", "fmt")     # fmt: a trait method, never `pub`
             and (not m.group(3) or not _mentioned_elsewhere(tree, p, m.group(4)))]
    if not sites:
        return None
    path, m = rng.choice(sites)
    new = f"{m.group(1)}{m.group(2)}{'' if m.group(3) else 'pub '}fn {m.group(4)}"
    return "private" if m.group(3) else "pub", [{"path": path, "old": m.group(0), "new": new}]


def inline(tree: Tree, rng: random.Random, step: int) -> Proposal:
    sites = [(p, m) for p in sorted(tree) if "/src/" in p for m in FN.finditer(_code(tree[p]))]
    path, m = rng.choice(sites)
    attr = rng.choice([a for a in ("", "#[inline] ", "#[inline(never)] ", "#[inline(always)] ") if a != m.group(2)])
    new = f"{m.group(1)}{attr}{m.group(3) or ''}fn {m.group(4)}"
    return f"inline-{attr.strip('#[] ') or 'default'}", [{"path": path, "old": m.group(0), "new": new}]


def _print_in_main(step: int, expr: str, fmt: str = "{:?}") -> dict:
    return {"path": MAIN, "old": MAIN_ANCHOR, "new": MAIN_ANCHOR + f'    println!("fz{step} = {fmt}", {expr});\n'}


def _value(rng: random.Random, ty: str) -> str:
    return f"{rng.randrange(0, 100)}{ty}"


def generic(tree: Tree, rng: random.Random, step: int) -> Proposal:
    """A new instantiation of a library generic, made in app."""
    ty = rng.choice(NUMERIC)
    a, b = _value(rng, ty), _value(rng, ty)
    expr = rng.choice((f"stats::mean(&[{a}, {b}])", f"stats::max_of(&[{a}, {b}])",
                       f"stats::summarize(&[{a}, {b}])", f"stats::variance(&[{a}, {b}, {a}])",
                       f"geometry::Pair::new({a}, {b}).larger()", f"geometry::Pair::new({a}, {b}).swapped()"))
    return "generic", [_print_in_main(step, expr)]


def _in_lib(path: str, code: str) -> dict:
    return {"path": path, "old": TEST_ANCHOR, "new": code + TEST_ANCHOR}


def add_function(tree: Tree, rng: random.Random, step: int) -> Proposal:
    path = rng.choice(LIBS)
    attr = rng.choice(("", "#[inline]\n", "#[inline(never)]\n"))
    code = (f"/// Added by the fuzzer.\n{attr}pub fn fz{step}(x: u64) -> u64 {{\n"
            f"    x.rotate_left({rng.randrange(1, 63)}) ^ {rng.randrange(1, 1 << 20)}\n}}\n\n")
    crate = path.split("/")[0]
    return "add-function", [_in_lib(path, code), _print_in_main(step, f"{crate}::fz{step}({rng.randrange(1, 99)})")]


def add_static(tree: Tree, rng: random.Random, step: int) -> Proposal:
    path = rng.choice(LIBS)
    kind = rng.choice(("static", "const"))
    code = f"/// Added by the fuzzer.\npub {kind} FZ{step}: u64 = {rng.randrange(1, 1 << 30)};\n\n"
    crate = path.split("/")[0]
    return f"add-{kind}", [_in_lib(path, code), _print_in_main(step, f"{crate}::FZ{step}", "{}")]


def static_const(tree: Tree, rng: random.Random, step: int) -> Proposal:
    sites = [(p, m) for p in sorted(tree) if "/src/" in p for m in STATIC.finditer(_code(tree[p]))]
    path, m = rng.choice(sites)
    to = "const" if m.group(2) == "static" else "static"
    return f"make-{to}", [{"path": path, "old": m.group(0), "new": f"{m.group(1) or ''}{to} {m.group(3)}:"}]


def trait_impl(tree: Tree, rng: random.Random, step: int) -> Proposal:
    head = "impl std::fmt::Display for Point {"
    if any(head in t for t in tree.values()):
        return None
    digits = rng.randrange(0, 4)
    code = (f"{head}\n    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {{\n"
            f'        write!(f, "({{:.{digits}}}, {{:.{digits}}})", self.x, self.y)\n    }}\n}}\n\n')
    return "trait-impl", [_in_lib(LIBS[0], code), _print_in_main(step, "geometry::Point::new(1.25, -2.5)", "{}")]


def comment(tree: Tree, rng: random.Random, step: int) -> Proposal:
    return "comment", [{"path": rng.choice(sorted(p for p in tree if "/src/" in p)), "old": "",
                        "new": f"// fuzz note {step}\n"}]


def break_crate(tree: Tree, rng: random.Random, step: int) -> Proposal:
    return "break", [{"path": rng.choice(sorted(p for p in tree if "/src/" in p)), "old": "",
                      "new": f"\nfn fz_broken_{step}( {{\n"}]


# kind -> (weight, proposer, checked); nothing is checked: rustc judges
PROPOSERS = {
    "literal": (12, literal, False), "operator": (6, operator, False), "visibility": (6, visibility, False),
    "inline": (8, inline, False), "generic": (6, generic, False), "add-function": (5, add_function, False),
    "add-static": (3, add_static, False), "static-const": (3, static_const, False),
    "trait-impl": (2, trait_impl, False), "comment": (2, comment, False), "break": (2, break_crate, False),
}

"""Textual LLVM IR: splitting a printed module into top-level entities and
rewriting symbol, attribute-group and metadata references token by token.

llvmlite exposes no ThinLTO API, so import, promotion and internalization all
work on the text LLVM prints. Every rewrite goes through `substitute`, which
skips string literals, so `c"x!1"` or `!"@f"` can never be renamed by accident.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

NAME = r'(?:[-a-zA-Z$._][-a-zA-Z$._0-9]*|"[^"]*"|[0-9]+)'
GLOBAL_REF = re.compile(r'"[^"]*"|@(' + NAME + r')')
MD_REF = re.compile(r'"[^"]*"|!([0-9]+)\b')
ATTR_REF = re.compile(r'"[^"]*"|#([0-9]+)\b')
ATTR_OR_MD_REF = re.compile(r'"[^"]*"|#([0-9]+)\b|!([0-9]+)\b')
HEAD_NAME = re.compile(r'@(' + NAME + r')\s*\(')
FIRST_NAME = {sigil: re.compile(re.escape(sigil) + "(" + NAME + ")") for sigil in "@%$"}
ALIAS_HEAD = re.compile(r"= .*?\b(alias|ifunc)\b")
MD_LINE = re.compile(r"![0-9]+ = ")
PLAIN_NAME = re.compile(r'[-a-zA-Z._][-a-zA-Z._0-9]*')
COMDAT_CLAUSE = re.compile(r",?\s*comdat(\(\$" + NAME + r"\))?")
PLACEMENT_CLAUSE = re.compile(r",?\s*(section|partition) \"[^\"]*\"")
# `comdat` or `comdat($name)` as a word of its own (not `%comdat`, `@comdat`, `"comdat"`)
COMDAT_REF = re.compile(r'"[^"]*"|(?<![-\w$.%@])comdat(?![-\w$.])(?:\(\$(' + NAME + r')\))?')

LINKAGES = (
    "private", "internal", "available_externally", "linkonce", "weak",
    "common", "appending", "extern_weak", "linkonce_odr", "weak_odr", "external",
)
LOCAL_LINKAGES = ("private", "internal")
VISIBILITIES = ("default", "hidden", "protected")


def strip_comment(line: str) -> str:
    """Drop a trailing `; comment`, respecting string literals."""
    semi = line.find(";")
    if semi < 0:
        return line
    start = 0
    while True:
        quote = line.find('"', start, semi)
        if quote < 0:                     # most lines: no string before the `;`
            return line[:semi].rstrip()
        # Skip the string whole: a constant's can be megabytes.
        start = line.find('"', quote + 1) + 1
        if not start:                     # unterminated: the rest is in it
            return line
        if start > semi:
            semi = line.find(";", start)
            if semi < 0:
                return line


def first_line(text: str) -> str:
    """A define's head (without copying its body, as `split` would)."""
    end = text.find("\n")
    return text if end < 0 else text[:end]


def unquote(name: str) -> str:
    return name[1:-1] if name.startswith('"') else name


def quote(name: str) -> str:
    """Spell a symbol name the way LLVM prints it after `@` (it quotes `$`)."""
    if PLAIN_NAME.fullmatch(name):
        return name
    return '"' + name + '"'


def global_refs(text: str) -> list[str]:
    """Every `@name` referenced in `text`, unquoted, in order of appearance."""
    return [unquote(n) for n in GLOBAL_REF.findall(text) if n]


def md_refs(text: str) -> list[int]:
    return [int(n) for n in MD_REF.findall(text) if n]


def attr_refs(text: str) -> list[int]:
    return [int(n) for n in ATTR_REF.findall(text) if n]


def attr_and_md_refs(text: str) -> tuple[list[int], list[int]]:
    """`(attr_refs(text), md_refs(text))` in one pass: neither token holds a
    quote or the other's first character, so both find the same strings."""
    pairs = ATTR_OR_MD_REF.findall(text)
    return [int(a) for a, _ in pairs if a], [int(m) for _, m in pairs if m]


@functools.cache
def _tokens(symbols: bool, mds: bool, attrs: bool) -> re.Pattern:
    """The tokens a rewrite touches. String literals come first, so that
    anything inside one is consumed as part of it. Only the kinds being
    renamed are matched (no other token can begin inside an unquoted name),
    since every match is a Python call."""
    kinds = ['"[^"]*"'] + ["@" + NAME] * symbols + ["![0-9]+"] * mds + ["#[0-9]+"] * attrs
    return re.compile("|".join(kinds))


def substitute(text: str, symbols: dict[str, str] | None = None,
               mds: dict[int, int] | None = None,
               attrs: dict[int, int] | None = None) -> str:
    """Rename `@sym`, `!N` and `#N` references through the given maps."""
    def repl(m: re.Match) -> str:
        tok = m.group(0)
        head = tok[0]
        if head == "@" and symbols:
            new = symbols.get(unquote(tok[1:]))
            return tok if new is None else "@" + quote(new)
        if head == "!" and mds:
            new = mds.get(int(tok[1:]))
            return tok if new is None else "!" + str(new)
        if head == "#" and attrs:
            new = attrs.get(int(tok[1:]))
            return tok if new is None else "#" + str(new)
        return tok
    if not (symbols or mds or attrs):
        return text
    return _tokens(bool(symbols), bool(mds), bool(attrs)).sub(repl, text)


@dataclass
class Entity:
    """One top-level entity of a printed module."""
    kind: str          # define | declare | global | alias | type | comdat | attrs | md | named_md | header | asm
    name: str          # symbol / type / comdat name, or the number of `#N` / `!N`
    text: str


@dataclass
class ModuleText:
    header: list[str] = field(default_factory=list)
    types: dict[str, Entity] = field(default_factory=dict)
    comdats: dict[str, Entity] = field(default_factory=dict)
    globals: dict[str, Entity] = field(default_factory=dict)   # variables and aliases
    functions: dict[str, Entity] = field(default_factory=dict)  # defines and declares
    attrs: dict[int, str] = field(default_factory=dict)
    mds: dict[int, str] = field(default_factory=dict)
    named_mds: list[str] = field(default_factory=list)
    order: list[tuple[str, str]] = field(default_factory=list)   # (table, key) in printed order

    def render(self) -> str:
        out = list(self.header)
        for table, key in self.order:
            out.append(getattr(self, table)[key].text)
        out.extend(f"attributes #{n} = {t}" for n, t in sorted(self.attrs.items()))
        out.extend(self.named_mds)
        out.extend(f"!{n} = {t}" for n, t in sorted(self.mds.items()))
        return "\n".join(out) + "\n"


def _first_name(line: str, sigil: str) -> str:
    m = FIRST_NAME[sigil].match(line)
    return unquote(m.group(1)) if m else ""


def split_module(text: str) -> ModuleText:
    """Split LLVM's printed form of a module into its top-level entities.

    A function is cut out whole, up to the first line that is `}`: its body
    is most of the text, and splitting it into lines to join them again
    was most of the work.
    """
    mod = ModuleText()
    pos, size = 0, len(text)
    while pos <= size:
        start = pos
        eol = text.find("\n", start)
        if eol < 0:
            eol = size
        line = text[start:eol]
        pos = eol + 1
        if not line or line.startswith(";"):
            continue
        if line.startswith("define "):
            close = text.find("\n}\n", eol) + 1
            if not close and text.endswith("\n}") and size - 2 >= eol:
                close = size - 1
            if close:
                define, pos = text[start:close + 1], close + 2
            else:                           # cut short: the body runs to the end
                define, pos = text[start:] + "\n}", size + 1
            name = unquote(HEAD_NAME.search(line).group(1))
            mod.functions[name] = Entity("define", name, define)
            mod.order.append(("functions", name))
        elif line.startswith("declare "):
            name = unquote(HEAD_NAME.search(line).group(1))
            mod.functions[name] = Entity("declare", name, line)
            mod.order.append(("functions", name))
        elif line.startswith("@"):
            name = _first_name(line, "@")
            kind = "alias" if ALIAS_HEAD.search(line.partition(",")[0]) else "global"
            mod.globals[name] = Entity(kind, name, line)
            mod.order.append(("globals", name))
        elif line.startswith("%"):
            name = _first_name(line, "%")
            mod.types[name] = Entity("type", name, line)
            mod.order.append(("types", name))
        elif line.startswith("$"):
            name = _first_name(line, "$")
            mod.comdats[name] = Entity("comdat", name, line)
            mod.order.append(("comdats", name))
        elif line.startswith("attributes #"):
            num, _, rest = line[len("attributes #"):].partition(" = ")
            mod.attrs[int(num)] = rest
        elif MD_LINE.match(line):
            num, _, rest = line[1:].partition(" = ")
            mod.mds[int(num)] = rest
        elif line.startswith("!"):
            mod.named_mds.append(line)
        else:
            mod.header.append(line)
    return mod


def _keyword(head: str, choices: tuple[str, ...], default: str) -> str:
    """The first of `choices` among the words before the first parenthesis."""
    for word in head.partition("(")[0].split():
        if word in choices:
            return word
    return default


def linkage_of(head: str) -> str:
    """Linkage keyword of a `define`/`declare`/`@g = ...` line ('external' if none)."""
    return _keyword(head, LINKAGES, "external")


def comdat_of(head: str, name: str) -> str | None:
    """The comdat a define/global line puts symbol `name` in (a bare `comdat`
    is the one named after the symbol), or None."""
    if "comdat" not in head:
        return None
    for m in COMDAT_REF.finditer(strip_comment(head)):
        if not m.group(0).startswith('"'):
            return unquote(m.group(1)) if m.group(1) else name
    return None


def visibility_of(head: str) -> str:
    return _keyword(head, VISIBILITIES, "default")


def set_linkage(line: str, name: str, keyword: str, visibility: str | None = None) -> str:
    """Rewrite the linkage (and optionally visibility) of a define/declare/global line.

    `keyword` is a linkage word, or "" for plain external. Local linkage drops
    any visibility, which LLVM rejects on locals. Only the words in front of
    the symbol name (functions) or in front of `global`/`constant` (variables)
    are touched.
    """
    if line.startswith("@"):
        eq = line.index(" = ") + 3
        m = re.search(r"\b(global|constant|alias|ifunc)\b", line[eq:])
        lead, prefix, rest = line[:eq], line[eq:eq + m.start()], line[eq + m.start():]
        words = prefix.split()
        insert_at = 0
    else:
        at = line.index("@" + quote(name) + "(")
        lead, prefix, rest = "", line[:at], line[at:]
        words = prefix.split()
        insert_at = 1
    words = [w for w in words if w not in LINKAGES]
    if keyword in LOCAL_LINKAGES or visibility is not None:
        words = [w for w in words if w not in VISIBILITIES and w not in ("dso_local", "dso_preemptable")]
    if visibility and visibility != "default" and keyword not in LOCAL_LINKAGES:
        words.insert(insert_at, visibility)
    if keyword:
        words.insert(insert_at, keyword)
    return lead + " ".join(words) + (" " if words else "") + rest


def drop_comdat(head: str) -> str:
    # Each pattern is tried at every position: look for its word first.
    if "comdat" in head:
        head = COMDAT_CLAUSE.sub("", head)
    if "section" in head or "partition" in head:
        head = PLACEMENT_CLAUSE.sub("", head)
    return head

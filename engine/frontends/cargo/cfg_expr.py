"""`cfg(...)` expressions as cargo evaluates the keys of its
`[target.'cfg(...)']` tables: against the lines `rustc --print=cfg` prints
(`unix`, `target_os="linux"`, ...).

Grammar (cargo-platform's): an expression is `all(e, ...)`, `any(e, ...)`,
`not(e)`, `true`, `false`, a name, or `name = "value"`; lists may end with a
comma; a string runs to the next `"` (no escapes).
"""

from __future__ import annotations

import re

_TOKEN = re.compile(r'\s*(?:(?P<punct>[(),=])|"(?P<string>[^"]*)"|(?P<ident>(?:r#)?[A-Za-z_][A-Za-z0-9_]*))')


class CfgError(ValueError):
    pass


def matches(key: str, cfg: frozenset[str]) -> bool:
    """Whether the table key `cfg(<expr>)` holds for `cfg`. A key that does
    not parse holds nowhere (cargo rejects it with its own message)."""
    key = key.strip()
    if not (key.startswith("cfg(") and key.endswith(")")):
        return False
    try:
        tokens = _tokens(key[4:-1])
        value, rest = _expr(tokens, cfg)
    except CfgError:
        return False
    return not rest and value


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(text.rstrip()):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise CfgError(text[pos:])
        kind = m.lastgroup
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


def _expr(tokens: list[tuple[str, str]], cfg: frozenset[str]) -> tuple[bool, list]:
    if not tokens or tokens[0][0] != "ident":
        raise CfgError("expected a name")
    name, rest = tokens[0][1].removeprefix("r#"), tokens[1:]
    if rest[:1] == [("punct", "(")] and tokens[0][1] in ("all", "any", "not"):
        values, rest = _list(rest[1:], cfg)
        if name == "not":
            if len(values) != 1:
                raise CfgError("not() takes one expression")
            return not values[0], rest
        return (all(values) if name == "all" else any(values)), rest
    if rest[:1] == [("punct", "=")]:
        if len(rest) < 2 or rest[1][0] != "string":
            raise CfgError("expected a string after =")
        return f'{name}="{rest[1][1]}"' in cfg, rest[2:]
    if tokens[0][1] in ("true", "false"):
        return tokens[0][1] == "true", rest
    return name in cfg, rest


def _list(tokens: list[tuple[str, str]], cfg: frozenset[str]) -> tuple[list[bool], list]:
    values = []
    while tokens[:1] != [("punct", ")")]:
        value, tokens = _expr(tokens, cfg)
        values.append(value)
        if tokens[:1] == [("punct", ",")]:
            tokens = tokens[1:]
        elif tokens[:1] != [("punct", ")")]:
            raise CfgError("expected , or )")
    return values, tokens[1:]

"""The extra rustc flags and the linker the user's cargo would use, so that
thinwatch adds its flags to theirs and links with their linker.

cargo takes extra rustc flags from exactly one of four sources, the first
that is set: `CARGO_ENCODED_RUSTFLAGS`, `RUSTFLAGS`, the `rustflags` of the
`target.<triple>` and `target.<cfg>` tables of its configuration (joined),
`build.rustflags`. Setting `RUSTFLAGS` for thinwatch's own flags would
silently drop the configured ones (`-C target-cpu=native` in
`.cargo/config.toml`, say), and a binary unlike the user's `cargo build`.

`target.'cfg(...)'` tables apply when their expression holds for the host
(cfg_expr.py), as cargo decides it: against `rustc --print=cfg` run with the
flags that would apply without those tables.
"""

from __future__ import annotations

import os
import stat
import subprocess
import tomllib
from functools import cache
from pathlib import Path
from typing import Mapping

from ... import toolchain
from ...memo import remembered
from .cfg_expr import matches

SEPARATOR = "\x1f"        # CARGO_ENCODED_RUSTFLAGS separates flags with it


def user_config(root: Path, env: Mapping[str, str]) -> tuple[list[str], str]:
    """(flags, linker): the extra rustc flags and the linker driver ("" for
    rustc's default) of cargo run in `root` with `env`."""
    configs = [(path, table) for path in _config_files(root, env) if (table := _load(path)) is not None]
    if "CARGO_ENCODED_RUSTFLAGS" in env:
        from_env = [f for f in env["CARGO_ENCODED_RUSTFLAGS"].split(SEPARATOR) if f]
    elif "RUSTFLAGS" in env:
        from_env = env["RUSTFLAGS"].split()
    else:
        from_env = None
    triple = [f for _, table in configs for f in _flags(_host_table(table).get("rustflags", []))]
    triple += _for_host(env, "RUSTFLAGS").split()
    build = [f for _, table in configs for f in _flags(_table(table, "build").get("rustflags", []))]
    build += env.get("CARGO_BUILD_RUSTFLAGS", "").split()
    without_cfg = from_env if from_env is not None else triple or build
    holding = [(key, tables) for key, tables in _cfg_tables(configs) if matches(key, _host_cfg(tuple(without_cfg)))]
    if from_env is not None:
        flags = from_env
    else:
        flags = triple + [f for _, tables in holding for _, section in tables
                          for f in _flags(section.get("rustflags", []))] or build
    return flags, _user_linker(configs, env, flags, holding)


def foreign_target(root: Path, env: Mapping[str, str]) -> str | None:
    """Where the user's cargo is told to build for a target other than the
    host (`CARGO_BUILD_TARGET`, else the deepest file's `build.target`), said
    for people; None when it builds for the host."""
    if "CARGO_BUILD_TARGET" in env:
        value, where = env["CARGO_BUILD_TARGET"], "CARGO_BUILD_TARGET"
    else:
        named = [(path, _table(table, "build")["target"]) for path in _config_files(root, env)
                 if (table := _load(path)) is not None and "target" in _table(table, "build")]
        if not named:
            return None
        path, value = named[-1]
        where = f"build.target in {path}"
    targets = value if isinstance(value, list) else [value]
    if targets == [host()]:
        return None
    return f"{where} = {value!r}"


def _user_linker(configs: list[tuple[Path, dict]], env: Mapping[str, str], flags: list[str],
                 holding: list[tuple[str, list[tuple[Path, dict]]]]) -> str:
    # The last `-C linker=` of the flags wins over cargo's configured linker,
    # which cargo passes first.
    chosen = ""
    for i, flag in enumerate(flags):
        option = (flags[i + 1] if i + 1 < len(flags) else "") if flag == "-C" else flag[2:] if flag.startswith("-C") else ""
        if option.startswith("linker="):
            chosen = option.split("=", 1)[1]
    if chosen:
        return chosen
    if named := _for_host(env, "LINKER"):
        return named
    # The deepest file's value wins; a `cfg` table's only if no triple table
    # names one (cargo refuses two holding cfg tables that do).
    found = [(path, table) for path, table in configs if isinstance(_host_table(table).get("linker"), str)]
    if found:
        path, table = found[-1]
        return _program(path, _host_table(table)["linker"])
    for _, tables in holding:
        named = [(path, section["linker"]) for path, section in tables if isinstance(section.get("linker"), str)]
        if named:
            return _program(*named[-1])
    return ""


def _program(config: Path, value: str) -> str:
    """A program named in a configuration file: a path with a slash is
    relative to the directory holding `.cargo/`."""
    return str(config.parent.parent / value) if "/" in value else value


def _host_table(table: dict) -> dict:
    """`target.<host>` of one file; rustc is asked for the host only when
    some file names a target triple."""
    targets = _table(table, "target")
    return _table(targets, host()) if any(not key.startswith("cfg(") for key in targets) else {}


def _cfg_tables(configs: list[tuple[Path, dict]]) -> list[tuple[str, list[tuple[Path, dict]]]]:
    """The `target.'cfg(...)'` tables by key, in cargo's order (sorted), each
    with its sections from every file, lowest precedence first."""
    tables: dict[str, list[tuple[Path, dict]]] = {}
    for path, table in configs:
        for key, section in _table(table, "target").items():
            if key.startswith("cfg(") and isinstance(section, dict):
                tables.setdefault(key, []).append((path, section))
    return sorted(tables.items())


def _for_host(env: Mapping[str, str], what: str) -> str:
    """`CARGO_TARGET_<HOST>_<WHAT>`; rustc is asked for the host only when
    some such variable is set."""
    if not any(k.startswith("CARGO_TARGET_") and k.endswith("_" + what) for k in env):
        return ""
    return env.get(f"CARGO_TARGET_{host().upper().replace('-', '_')}_{what}", "")


def _config_files(root: Path, env: Mapping[str, str]) -> list[Path]:
    """cargo's configuration files, lowest precedence first: `$CARGO_HOME`'s,
    then `.cargo/` of every directory from `/` down to `root`. (Arrays merge
    in that order; a file without `.toml` wins over one with it.)"""
    home = Path(env.get("CARGO_HOME") or Path.home() / ".cargo")
    dirs = [home, *(d / ".cargo" for d in reversed((root, *root.parents)))]
    found, seen = [], set()
    for d in dirs:
        for name in ("config", "config.toml"):
            path = d / name
            if path.is_file():
                if path.resolve() not in seen:
                    seen.add(path.resolve())
                    found.append(path)
                break
    return found


def _load(path: Path) -> dict | None:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None                   # cargo itself reports a broken configuration


def _table(table: dict, key: str) -> dict:
    value = table.get(key, {})
    return value if isinstance(value, dict) else {}      # cargo itself reports a malformed one


def _flags(value) -> list[str]:
    if isinstance(value, str):
        return value.split()
    return [str(f) for f in value] if isinstance(value, list) else []


@cache
def _host_cfg(flags: tuple[str, ...]) -> frozenset[str]:
    """What `cfg(...)` keys are evaluated against: rustc's cfg for the host
    with these flags (a bad flag is cargo's to report: nothing holds)."""
    p = subprocess.run(["rustc", "--print=cfg", *flags], capture_output=True, text=True)
    return frozenset(p.stdout.splitlines()) if p.returncode == 0 else frozenset()


_host: str | None = None          # rustc's host triple, once this process knows it


def host(root: Path | None = None, build_dir: Path | None = None) -> str:
    """rustc's host triple, asked once per process (in `root`, where a
    rust-toolchain file may pick the toolchain). A workspace's build
    directory keeps it for the toolchain it came from: a new process's build
    waited ~40 ms for `rustc -vV` through rustup's proxy before it could
    start cargo. Kept only in a build directory that is already a real one:
    it is made and checked where the workspace is locked, and opening a
    project may come first (`thinwatch run` choosing its program)."""
    global _host
    if _host is None:
        cwd = str(root or Path.cwd())
        memo = build_dir / "rustc-host.json" if build_dir is not None and _real_dir(build_dir) else None
        _host = remembered(memo, toolchain.selection(cwd), lambda: _ask_host(cwd),
                           lambda known: isinstance(known, str) and bool(known), fields=("toolchain", "host"))
    return _host


def _ask_host(cwd: str) -> str:
    out = subprocess.run(["rustc", "-vV"], cwd=cwd, capture_output=True, text=True).stdout
    return next((line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("host:")), "")


def _real_dir(path: Path) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False

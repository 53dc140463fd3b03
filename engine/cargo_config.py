"""The extra rustc flags and the linker the user's cargo would use, so that
thinwatch adds its flags to theirs and links with their linker.

cargo takes extra rustc flags from exactly one of four sources, the first
that is set: `CARGO_ENCODED_RUSTFLAGS`, `RUSTFLAGS`, the `rustflags` of the
`target.<triple>` and `target.<cfg>` tables of its configuration (joined),
`build.rustflags`. Setting `RUSTFLAGS` for thinwatch's own flags would
silently drop the configured ones (`-C target-cpu=native` in
`.cargo/config.toml`, say), and a binary unlike the user's `cargo build`.
"""

from __future__ import annotations

import subprocess
import tomllib
from functools import cache
from pathlib import Path
from typing import Mapping

SEPARATOR = "\x1f"        # CARGO_ENCODED_RUSTFLAGS separates flags with it


def user_config(root: Path, env: Mapping[str, str]) -> tuple[list[str], str, list[str]]:
    """(flags, linker, warnings): the extra rustc flags and the linker driver
    ("" for rustc's default) of cargo run in `root` with `env`."""
    configs = [(path, table) for path in _config_files(root, env) if (table := _load(path)) is not None]
    flags, warnings = _user_flags(configs, env)
    linker, more = _user_linker(configs, env, flags)
    return flags, linker, warnings + more


def _user_flags(configs: list[tuple[Path, dict]], env: Mapping[str, str]) -> tuple[list[str], list[str]]:
    if "CARGO_ENCODED_RUSTFLAGS" in env:
        return [f for f in env["CARGO_ENCODED_RUSTFLAGS"].split(SEPARATOR) if f], []
    if "RUSTFLAGS" in env:
        return env["RUSTFLAGS"].split(), []
    target, warnings = [], []
    for path, table in configs:
        for key, section in _table(table, "target").items():
            if not isinstance(section, dict) or "rustflags" not in section:
                continue
            if key.startswith("cfg("):
                warnings.append(f"{path}: thinwatch cannot evaluate target.'{key}'; its rustflags are not "
                                f"passed to rustc (set RUSTFLAGS to pass flags explicitly)")
            elif key == _host():
                target += _flags(section["rustflags"])
    target += _for_host(env, "RUSTFLAGS").split()
    if target:
        return target, warnings
    build = [f for _, table in configs for f in _flags(_table(table, "build").get("rustflags", []))]
    return build + env.get("CARGO_BUILD_RUSTFLAGS", "").split(), warnings


def _user_linker(configs: list[tuple[Path, dict]], env: Mapping[str, str],
                 flags: list[str]) -> tuple[str, list[str]]:
    # The last `-C linker=` of the flags wins over cargo's configured linker,
    # which cargo passes first.
    chosen = ""
    for i, flag in enumerate(flags):
        option = (flags[i + 1] if i + 1 < len(flags) else "") if flag == "-C" else flag[2:] if flag.startswith("-C") else ""
        if option.startswith("linker="):
            chosen = option.split("=", 1)[1]
    if chosen:
        return chosen, []
    if named := _for_host(env, "LINKER"):
        return named, []
    linker, warnings = "", []
    for path, table in configs:                   # the deepest file's value wins
        for key, section in _table(table, "target").items():
            if not isinstance(section, dict) or not isinstance(section.get("linker"), str):
                continue
            if key.startswith("cfg("):
                warnings.append(f"{path}: thinwatch cannot evaluate target.'{key}'; its linker is not used")
            elif key == _host():
                value = section["linker"]
                # A path with a slash is relative to the directory holding `.cargo/`.
                linker = str(path.parent.parent / value) if "/" in value else value
    return linker, warnings


def _for_host(env: Mapping[str, str], what: str) -> str:
    """`CARGO_TARGET_<HOST>_<WHAT>`; rustc is asked for the host only when
    some such variable is set."""
    if not any(k.startswith("CARGO_TARGET_") and k.endswith("_" + what) for k in env):
        return ""
    return env.get(f"CARGO_TARGET_{_host().upper().replace('-', '_')}_{what}", "")


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
def _host() -> str:
    """rustc's host triple (asked once, only when a target table needs it)."""
    out = subprocess.run(["rustc", "-vV"], capture_output=True, text=True).stdout
    return next((line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("host:")), "")

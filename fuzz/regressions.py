"""Minimal failing sequences as files a test replays
(tests/fuzz_regressions/<name>.json)."""

from __future__ import annotations

from pathlib import Path

import orjson

from .helpers import ROOT

DIR = ROOT / "tests" / "fuzz_regressions"


def save(name: str, target, seed: int, edits: list[dict], mismatch: list[str]) -> Path:
    DIR.mkdir(parents=True, exist_ok=True)
    path = DIR / f"{name}.json"
    path.write_bytes(orjson.dumps({"target": target.kind, "workspace": target.workspace, "seed": seed,
                                   "mismatch": mismatch, "edits": edits}, option=orjson.OPT_INDENT_2) + b"\n")
    return path


def load(path: Path) -> dict:
    return orjson.loads(path.read_bytes())

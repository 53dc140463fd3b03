"""The engine and its headless path never import Textual (checked in a fresh
interpreter, so nothing the test session imported leaks in)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROGRAM = """
import sys
import thinwatch.engine.cli, thinwatch.engine.watch
code = thinwatch.engine.cli.run(["build", "--once", "--no-tui", sys.argv[1]])
assert code == 0, code
loaded = sorted(m for m in sys.modules if m == "textual" or m.startswith(("textual.", "thinwatch.tui")))
assert not loaded, loaded
print("headless ok")
"""


def test_headless_build_does_not_load_textual(tmp_path):
    ws = tmp_path / "ws"
    shutil.copytree(ROOT / "sample_crates" / "ir", ws, ignore=shutil.ignore_patterns(".thinwatch", "target"))
    res = subprocess.run([sys.executable, "-c", PROGRAM, str(ws)], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "headless ok" in res.stdout

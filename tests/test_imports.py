"""The import graph keeps its contracts (pyproject.toml's [tool.importlinter]):
the engine never imports the TUI or Textual, the TUI reaches the engine only
through the session API and the event types, the entry point sits above
both, front ends stay out of the build's internals, and no package's modules
import each other in a cycle.

Checked on the layout the distribution installs (`thinwatch/` holding
`engine/` and `tui/`), copied from this checkout into a directory that is the
first path entry of a fresh interpreter: import-linter reads a package's own
directory, where the checkout keeps the two beside it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROGRAM = """
import sys
from importlinter.cli import lint_imports
sys.exit(lint_imports(config_filename=sys.argv[1], no_cache=True, no_logo=True))
"""


def test_import_contracts_are_kept(tmp_path):
    installed = tmp_path / "thinwatch"
    shutil.copytree(ROOT / "thinwatch", installed, ignore=shutil.ignore_patterns("__pycache__"))
    for package in ("engine", "tui"):
        shutil.copytree(ROOT / package, installed / package, ignore=shutil.ignore_patterns("__pycache__"))
    res = subprocess.run([sys.executable, "-c", PROGRAM, str(ROOT / "pyproject.toml")], cwd=tmp_path,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "0 broken" in res.stdout

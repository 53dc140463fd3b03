"""The import graph keeps its contracts (pyproject.toml's [tool.importlinter]):
the engine never imports the TUI or Textual, the TUI reaches the engine only
through the session API and the event types, the entry point sits above
both, and no package's modules import each other in a cycle. Checked in a
fresh interpreter whose first path entry is this checkout."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROGRAM = """
import sys
from importlinter.cli import lint_imports
sys.exit(lint_imports(config_filename="pyproject.toml", no_cache=True, no_logo=True))
"""


def test_import_contracts_are_kept():
    res = subprocess.run([sys.executable, "-c", PROGRAM], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "0 broken" in res.stdout

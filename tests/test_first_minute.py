"""What a new user meets in the first minute (issue 17): the version, a
build directory git does not list, `build` building once, and a directory
that is no workspace left as it was."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version

from conftest import ROOT, thinwatch


def test_version_names_the_installed_distribution():
    expected = f"thinwatch {version('thinwatch')}\n"
    for module in ("engine.cli", "thinwatch"):        # the headless command line and the `thinwatch` command
        res = subprocess.run([sys.executable, "-m", module, "--version"], capture_output=True, text=True,
                             cwd=ROOT, timeout=60)
        assert (res.returncode, res.stdout, res.stderr) == (0, expected, "")

"""The one clean: `thinwatch clean` and a session's `clean()` (the TUI's `c`)
both delete exactly this, so the two can never drift apart."""

from __future__ import annotations

import shutil
from pathlib import Path

# The executables in out/ and cargo's target/ stay: cleaning thinwatch's
# state must not take away a program the user is running.
CLEANED = ("cache", "objects", "units", "links", "state.json")


def clean(build_dir: Path) -> None:
    """Delete the cache and the build state under `build_dir`. The caller
    holds the workspace's lock."""
    for name in CLEANED:
        path = build_dir / name
        if path.is_dir() and not path.is_symlink():     # a link is removed, never what it points at
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)

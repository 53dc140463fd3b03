"""What picks the Rust toolchain a workspace builds with: the `rustc` the
PATH finds and, when that is rustup's proxy, what rustup picks by
(`RUSTUP_TOOLCHAIN`, a `rust-toolchain[.toml]` in the workspace or a
directory above it, its settings: `rustup default`, `rustup override set`),
files by stamp. An answer worked out from the toolchain (its LLVM library,
its host triple) holds while this is unchanged.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from . import files


def selection(cwd: str) -> list:
    """[RUSTUP_TOOLCHAIN, the PATH's rustc, the stamps of it and of the files
    rustup reads]: lists, to compare equal after a round trip through JSON."""
    home = Path(os.environ.get("RUSTUP_HOME") or Path.home() / ".rustup")
    here = Path(cwd)
    rustc = shutil.which("rustc")
    watched = [rustc or "", home / "settings.toml",
               *(d / name for d in (here, *here.parents) for name in ("rust-toolchain", "rust-toolchain.toml"))]
    return [os.environ.get("RUSTUP_TOOLCHAIN"), rustc, [files.stamp(path) for path in watched]]

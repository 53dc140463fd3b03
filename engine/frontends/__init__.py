"""The front ends: each turns one kind of workspace into link units.

- `ir`: a `thinwatch.toml` naming directories of LLVM IR or bitcode modules.
- `cargo`: a Cargo workspace; cargo and rustc are its front end, through
  `-C linker-plugin-lto` bitcode and a linker shim.

A workspace's kind is its manifest; a directory with both is an IR one.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ConfigError
from ..project import Project
from .cargo import CargoProject
from .ir import MANIFEST, Workspace

CARGO_MANIFEST = "Cargo.toml"


def kind(root: Path) -> type[Project]:
    """The front end of the workspace at `root`; a ConfigError unless it has
    a manifest of either kind, checked before anything is made there, so a
    mistyped directory is left without a build directory or a lock."""
    if not (root / MANIFEST).is_file() and not (root / CARGO_MANIFEST).is_file():
        raise ConfigError(f"{root} is not a workspace: it has neither a {MANIFEST} (LLVM IR) "
                          f"nor a {CARGO_MANIFEST} (Rust)")
    return CargoProject if not (root / MANIFEST).exists() else Workspace


def open_project(root: Path, options=None) -> Project:
    """The workspace at `root`, read by its front end, with its command-line
    `options` (Cargo: `cargo.select.Selection`)."""
    root = Path(root)
    return kind(root).open(root, options)

"""What cargo's `compiler-artifact` messages say about what it built: the
name each executable's link unit gets, which executables are test harnesses,
which libraries have doc-tests, and which crate types thinwatch cannot build.

A unit's name is its output's path below `.thinwatch/out/` and its state
directory's below `.thinwatch/units/`, so it must be the same in every build
and different for every executable:
- a binary is named as cargo names it, `target.name` (`my-tool`, not the
  crate name `my_tool`);
- an example is `examples/<name>`, as in cargo's target directory (cargo
  refuses a binary named `examples`);
- a test harness is `test.<package>.<kind>.<target>`, e.g.
  `test.app.lib.app`, `test.app.bin.app`, `test.app.test.cli`: package names
  are unique in a workspace and target names cannot hold a `.` (rustc's
  crate names cannot), so it meets no binary and no other harness.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# Library crate types whose link rustc (or nobody, for a staticlib) does
# with the LTO of its own, behind thinwatch's back: refused (see `refusal`).
UNBUILDABLE = {
    "cdylib": "rust-lld would link it with its own LTO, not thinwatch's",
    "dylib": "rust-lld would link it with its own LTO, not thinwatch's",
    "staticlib": "it would be an archive of LLVM bitcode, which no C linker can use",
}
LIBRARY_KINDS = {"lib", "rlib", "dylib", "cdylib", "staticlib", "proc-macro"}


@dataclass(frozen=True)
class Artifact:
    package: str
    kind: str                 # lib (any library crate type), bin, test, bench, example
    target: str               # cargo's target name: a binary's file name, a library's crate name
    test: bool                # built as a test harness
    executable: Path | None
    doctest: bool             # a library whose doc-tests `cargo test` runs
    crate_types: tuple[str, ...]
    manifest: Path
    local: bool               # a path package (not from a registry or git)
    files: tuple[Path, ...]
    source: Path              # the target's crate root (`src/lib.rs`, `src/bin/tool.rs`)

    @classmethod
    def of(cls, msg: dict) -> "Artifact":
        target = msg["target"]
        kinds = target["kind"]
        return cls(package=package_name(msg["package_id"]),
                   kind="lib" if LIBRARY_KINDS & set(kinds) else kinds[0],
                   target=target["name"], test=msg["profile"]["test"],
                   executable=Path(msg["executable"]) if msg.get("executable") else None,
                   doctest=bool(target.get("doctest")) and not msg["profile"]["test"],
                   crate_types=tuple(target.get("crate_types", ())),
                   manifest=Path(msg["manifest_path"]), local=msg["package_id"].startswith("path+"),
                   files=tuple(map(Path, msg.get("filenames", ()))), source=Path(target["src_path"]))

    def ours(self, root: Path) -> bool:
        """A package of the workspace at `root`, not a dependency."""
        return self.local and self.manifest.is_relative_to(root)

    @property
    def crate(self) -> str:
        """The crate name rustc gives the target (and module ids begin with)."""
        return self.target.replace("-", "_")

    @property
    def unit(self) -> str:
        if self.test:
            return f"test.{self.package}.{self.kind}.{self.target}"
        return f"examples/{self.target}" if self.kind == "example" else self.target


def package_name(package_id: str) -> str:
    """The package's name in a package ID: `path+file:///w/foo#0.1.0`
    (a name that is the directory's is left out), `…#name@0.1.0`, or before
    cargo 1.77, `name 0.1.0 (path+file:///w/foo)`."""
    if " " in package_id:
        return package_id.split(" ", 1)[0]
    url, _, fragment = package_id.partition("#")
    if "@" in fragment:
        return fragment.split("@", 1)[0]
    return url.rstrip("/").rsplit("/", 1)[-1]


def refusal(art: Artifact, root: Path) -> str | None:
    """Why thinwatch will not build a crate type of a library in the
    workspace, with what to do instead, or None. A dependency's are cargo's
    business: only its rlib reaches a link thinwatch does."""
    if not art.ours(root):
        return None
    refused = [t for t in art.crate_types if t in UNBUILDABLE]
    if not refused:
        return None
    kind = refused[0]
    return (f"crate `{art.target}` ({art.manifest}) has crate type `{kind}`, which thinwatch does not build "
            f"({UNBUILDABLE[kind]}): remove \"{kind}\" from `crate-type` in its `[lib]`, or leave the package "
            f"out of what thinwatch builds (`default-members` of the workspace) and build it with cargo")


def unusable_files(art: Artifact) -> list[Path]:
    """The files cargo wrote for a refused library's crate types (not its rlib)."""
    return [f for f in art.files if f.suffix not in (".rlib", ".rmeta")]

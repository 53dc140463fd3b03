"""What cargo's `compiler-artifact` messages say about what it built: the
name each executable's link unit gets, which executables are test harnesses,
which libraries have doc-tests.

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

LIBRARY_KINDS = {"lib", "rlib", "dylib", "cdylib", "staticlib", "proc-macro"}


@dataclass(frozen=True)
class Artifact:
    package: str
    kind: str                 # lib (any library crate type), bin, test, bench, example
    target: str               # cargo's target name: a binary's file name, a library's crate name
    test: bool                # built as a test harness
    executable: Path | None
    doctest: bool             # a library whose doc-tests `cargo test` runs
    manifest: Path
    local: bool               # a path package (not from a registry or git)

    @classmethod
    def of(cls, msg: dict) -> "Artifact":
        target = msg["target"]
        kinds = target["kind"]
        return cls(package=package_name(msg["package_id"]),
                   kind="lib" if LIBRARY_KINDS & set(kinds) else kinds[0],
                   target=target["name"], test=msg["profile"]["test"],
                   executable=Path(msg["executable"]) if msg.get("executable") else None,
                   doctest=bool(target.get("doctest")) and not msg["profile"]["test"],
                   manifest=Path(msg["manifest_path"]), local=msg["package_id"].startswith("path+"))

    def ours(self, root: Path) -> bool:
        """A package of the workspace at `root`, not a dependency."""
        return self.local and self.manifest.is_relative_to(root)

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

"""`thinwatch run`: which program of a Cargo workspace it runs, chosen as
`cargo run` chooses: the `--bin` or `--example` given; else the one binary
of the selected packages (`-p`, else the workspace's default members); else
the package's `default-run`; else an error naming the binaries to choose from.
The selection is then narrowed to that program, so cargo builds only it, as
`cargo run` does.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import orjson

from ...errors import ConfigError
from ...project import BUILD_DIR
from .select import Selection


def program(root: Path, sel: Selection) -> tuple[Path, Selection]:
    """The executable thinwatch's build of the chosen program is written to,
    and the selection that builds just it; ConfigError if there is no one program."""
    out = root.resolve() / BUILD_DIR / "out"
    if len(sel.bins) + len(sel.examples) > 1:
        raise ConfigError("`thinwatch run` runs one program: give one --bin or --example")
    if sel.bins:
        return out / sel.bins[0], sel
    if sel.examples:
        return out / "examples" / sel.examples[0], sel
    packages = _selected(root, sel)
    bins = [(pkg["name"], t["name"]) for pkg in packages for t in pkg["targets"] if "bin" in t["kind"]]
    if len(bins) != 1 and len(packages) == 1 and packages[0].get("default_run"):
        bins = [(packages[0]["name"], packages[0]["default_run"])]
    if not bins:
        raise ConfigError(f"no binary to run in {', '.join(p['name'] for p in packages) or root}")
    if len(bins) > 1:
        raise ConfigError("`thinwatch run` could not determine which binary to run: use --bin NAME (or -p), "
                          "or set `default-run` in the package's [package] table; available binaries: "
                          + ", ".join(name for _, name in bins))
    package, name = bins[0]
    return out / name, sel.choosing(package, (name,), ())


def _selected(root: Path, sel: Selection) -> list[dict]:
    """The packages `-p` names, else the workspace's default members, from `cargo metadata`."""
    got = subprocess.run(["cargo", "metadata", "--no-deps", "--format-version", "1"], cwd=root,
                         capture_output=True)
    if got.returncode != 0:
        raise ConfigError(f"cargo metadata failed: {got.stderr.decode('utf-8', 'replace').strip()}")
    meta = orjson.loads(got.stdout)
    if sel.packages:
        unknown = set(sel.packages) - {p["name"] for p in meta["packages"]}
        if unknown:
            raise ConfigError(f"no package {', '.join(sorted(unknown))} in the workspace")
        return [p for p in meta["packages"] if p["name"] in sel.packages]
    members = set(meta.get("workspace_default_members") or meta["workspace_members"])
    return [p for p in meta["packages"] if p["id"] in members]

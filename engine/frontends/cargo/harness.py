"""`thinwatch test`: after the build, run everything `cargo test` would run.

Every test harness cargo built is its own unit (`artifacts.py`) and
runs from thinwatch's output as cargo would run it, in its package's
directory with `CARGO_MANIFEST_DIR` set, in the order cargo built them.
Then, if a library of the workspace has doc-tests, `cargo test --doc` runs
them in the build's own environment (flags, target directory), where it finds every
crate fresh; rustdoc compiles and links each doc-test itself, so those are
cargo's executables, not thinwatch's ThinLTO. The command passes only if all
of it ran and passed.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Callable, Sequence

from ...events import Event, ProgramFinished
from ...programs import run_program

if TYPE_CHECKING:
    from .project import CargoProject

DOC_TESTS = ["cargo", "test", "--doc"]


async def run_tests(project: "CargoProject", sink: Callable[[Event], None], gen: int,
                    args: Sequence[str] = ()) -> bool:
    """Run the last build's test harnesses and doc-tests, each given `args`
    (test-name filters, harness flags: what follows `--` for `cargo test`);
    True if all passed."""
    results: list[ProgramFinished] = []
    for art, unit in project.harnesses:
        env = dict(os.environ, CARGO_MANIFEST_DIR=str(art.manifest.parent))
        results.append(await run_program([str(unit.output), *args], art.manifest.parent, "test", gen, env,
                                         str(unit.output)))
        sink(results[-1])
    if project.doctests:
        sel = project.selection
        doc = [*DOC_TESTS, *sel.profile_args(), *sel.package_args()]
        # With the build's profile overrides too, or cargo would build every crate again.
        results.append(await run_program([*doc, *project.overrides, "--", *args], project.root, "test", gen,
                                         project.cargo_env(), " ".join(doc)))
        sink(results[-1])
    return all(r.passed for r in results)

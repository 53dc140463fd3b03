"""The verifying trace: what the last build did, per module.

Kept in `<build dir>/state.json`. It holds the key components (not just the
digest) of every module, so a module's state can be explained as a diff, and
what the final link consumed, so an unchanged link is skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import orjson

from .cache import place
from .files import stamp

FILE = "state.json"


@dataclass
class ModuleRecord:
    components: dict
    digest: str
    own: str
    stamp: list[int] | None   # files.stamp of objects/<module>.o as this build left it
    backend_seconds: float = 0.0   # what its backend took when it last ran

    def left(self, digest: str, path: Path) -> bool:
        """Whether `path` is still the object this build left for `digest`
        (an abandoned build may have replaced it since)."""
        return self.digest == digest and stamp(path) == self.stamp


@dataclass
class Record:
    modules: dict[str, ModuleRecord] = field(default_factory=dict)
    link_inputs: str | None = None
    exe_sha: str | None = None


def load(build_dir: Path, memo: dict | None = None) -> Record:
    """The record in `build_dir`; from `memo` if the file is the one last saved there."""
    path = build_dir / FILE
    if memo is not None and path in memo and memo[path][0] == stamp(path):
        return memo[path][1]
    try:
        data = orjson.loads((build_dir / FILE).read_bytes())
        return Record({k: ModuleRecord(**v) for k, v in data["modules"].items()},
                      data.get("link_inputs"), data.get("exe_sha"))
    except (OSError, ValueError, KeyError, TypeError):
        return Record()        # no trace, or a damaged one: nothing is trusted, everything is checked


def save(build_dir: Path, rec: Record, memo: dict | None = None) -> None:
    path = build_dir / FILE
    if memo is not None and path in memo and memo[path][1] == rec and memo[path][0] == stamp(path):
        return                     # the file already says exactly this
    # orjson writes dataclasses itself, ~5x faster than dataclasses.asdict.
    # A unit whose every module failed on its first build has no directory yet.
    place(path, orjson.dumps(rec, option=orjson.OPT_SORT_KEYS))
    if memo is not None:
        memo[path] = (stamp(path), rec)

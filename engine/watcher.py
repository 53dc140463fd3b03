"""What the watcher reports: a front end's inputs (its `WatchRules`), and
their contents as a watch starts. Its own module, imported when a watch
starts: `watchfiles` (and the anyio under it) took ~15 ms of every start,
one-shot builds included."""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path

import watchfiles

from . import files
from .project import WatchRules


class WorkspaceFilter(watchfiles.DefaultFilter):
    """The front end's inputs only (its `WatchRules`); never what its tools
    write, editor temporaries or anything `.gitignore` names."""

    def __init__(self, root: Path, rules: WatchRules):
        self.root = root.resolve()
        self.rules = rules
        super().__init__(ignore_dirs=(*self.ignore_dirs, *rules.ignore_dirs))
        self.patterns = self._gitignore()
        # Directories seen so far: a directory renamed, swapped or replaced
        # is reported by its own path alone (its files may never be), and a
        # gone one can no longer be asked whether it was a directory.
        self.dirs: set[str] = set()

    def is_dir(self, path: str) -> bool:
        return path in self.dirs or os.path.isdir(path)

    def _gitignore(self) -> list[str]:
        try:
            lines = (self.root / ".gitignore").read_text().splitlines()
        except OSError:
            return []
        return [ln.strip().rstrip("/") for ln in lines if ln.strip() and not ln.startswith(("#", "!"))]

    def __call__(self, change: watchfiles.Change, path: str) -> bool:
        if not super().__call__(change, path):
            return False
        p = Path(path)
        if p.name == ".gitignore":
            self.patterns = self._gitignore()
            return False
        if p.suffix not in self.rules.suffixes and not self.is_dir(path):
            return False
        try:
            rel = p.resolve().relative_to(self.root)
        except ValueError:
            return False
        for part in rel.parts:
            if part.startswith(".#") or part == "4913":      # emacs lock, vim's probe file
                return False
        text = rel.as_posix()
        return not any(fnmatch.fnmatch(text, pat) or fnmatch.fnmatch(p.name, pat)
                       or any(fnmatch.fnmatch(part, pat) for part in rel.parts[:-1])
                       for pat in self.patterns)


def snapshot(root: Path, keep: WorkspaceFilter) -> dict[str, str | None]:
    """Content digests of every file the watcher would report (and, in
    `keep.dirs`, the directories holding them)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in keep.ignore_dirs and not d.startswith(".")]
        keep.dirs.update(os.path.join(dirpath, d) for d in dirnames)
        for name in filenames:
            path = Path(dirpath) / name
            if keep(watchfiles.Change.modified, str(path)):
                out[str(path.relative_to(root))] = files.digest(path)
    return out

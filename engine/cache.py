"""The content-addressed cache under `<build dir>/cache/`.

    cache/emit/<k[:2]>/<k>   orjson: the summary of one module version
    cache/frag/<k[:2]>/<k>   orjson: its import fragments
    cache/bc/<k[:2]>/<k>     pre-link bitcode of one module
    cache/obj/<k[:2]>/<k>    native object for one backend key

`k` is the emission key (hash of source bytes and emission options) or the
backend key digest. Each entry starts with the SHA-256 of its payload and a
newline; an entry whose payload does not match is discarded on read, so a torn
or corrupted file is rebuilt, never used. Writes go to a temporary name in the
same directory and are renamed into place.

Only regular files two directories below a kind are entries: anything else
(a note, `.DS_Store`, a link, a stray directory) is left alone by pruning,
and a link or file where one of the cache's own directories belongs is
replaced by that directory, never written through (engine/builddir.py).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from pathlib import Path

from .builddir import private_dir

DEFAULT_MAX_BYTES = 2 << 30            # 2 GiB
DEFAULT_MAX_AGE = 30 * 24 * 3600       # 30 days


class Cache:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.written = 0          # entries this instance added: nothing added, nothing to prune
        self._checked: set[Path] = set()     # directories made private (a build's worth: once each)

    def _path(self, kind: str, key: str) -> Path:
        return self.root / kind / key[:2] / key

    def get(self, kind: str, key: str) -> bytes | None:
        path = self._path(kind, key)
        try:
            data = path.read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return None
        head, sep, payload = data.partition(b"\n")
        if sep and head.decode("ascii", "replace") == hashlib.sha256(payload).hexdigest():
            return payload
        path.unlink(missing_ok=True)
        return None

    def has(self, kind: str, key: str) -> bool:
        return self._path(kind, key).is_file()

    def prune(self, keep: set[tuple[str, str]], max_bytes: int = DEFAULT_MAX_BYTES,
              max_age: float = DEFAULT_MAX_AGE) -> int:
        """Drop entries older than `max_age`, then the oldest until the cache
        fits in `max_bytes`; never an entry in `keep`. Returns entries removed."""
        entries = []
        for kind in _listed(self.root):
            if kind.is_dir(follow_symlinks=False):
                for shard in _listed(Path(kind.path)):
                    if shard.is_dir(follow_symlinks=False):
                        entries += [(st.st_mtime, st.st_size, Path(f.path), (kind.name, f.name))
                                    for f in _listed(Path(shard.path)) if (st := _file_stat(f))]
        entries.sort()
        total = sum(e[1] for e in entries)
        now, removed = time.time(), 0
        for mtime, size, path, ident in entries:
            if ident in keep:
                continue
            if now - mtime > max_age or total > max_bytes:
                path.unlink(missing_ok=True)
                total -= size
                removed += 1
        return removed

    def put(self, kind: str, key: str, payload: bytes) -> None:
        path = self._path(kind, key)
        for directory in (self.root, path.parent.parent, path.parent):   # each private, not just the last
            if directory not in self._checked:
                private_dir(directory)
                self._checked.add(directory)
        atomic_write(path, hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload)
        self.written += 1


def _listed(directory: Path) -> list[os.DirEntry]:
    try:
        with os.scandir(directory) as entries:
            return list(entries)
    except (FileNotFoundError, NotADirectoryError):
        return []


def _file_stat(entry: os.DirEntry) -> os.stat_result | None:
    """An entry's stat if it is a regular file (a link is not an entry,
    whatever it points at); None if not, or gone meanwhile."""
    try:
        return entry.stat(follow_symlinks=False) if entry.is_file(follow_symlinks=False) else None
    except FileNotFoundError:
        return None


def place(path: Path, data: bytes) -> None:
    """`atomic_write`, making the directory first: for files outside the cache
    (objects, captured natives), whose directories come and go with units."""
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, data)


def atomic_write(path: Path, data: bytes, mode: int = 0o600) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise

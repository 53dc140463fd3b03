"""The content-addressed cache: `<build dir>/cache/`, or the `cache_dir` a
workspace names, which checkouts, worktrees or machines (over NFS) of one
user may share: keys hold no path, user or host, so a checkout elsewhere
finds every entry it would build.

    cache/emit/<k[:2]>/<k>   orjson: the summary of one module version
    cache/frag/<k[:2]>/<k>   orjson: its import fragments
    cache/bc/<k[:2]>/<k>     pre-link bitcode of one module
    cache/obj/<k[:2]>/<k>    native object for one backend key

`k` is the emission key (hash of source bytes and emission options) or the
backend key digest. Each entry starts with the SHA-256 of its payload and a
newline; an entry whose payload does not match is discarded on read, so a torn
or corrupted file is rebuilt, never used. Writes go to a temporary name in the
same directory and are renamed into place.

Several builds may read, write and prune one cache at once. Every build
holds a shared lock on `<cache>/.lock` while it uses the cache (`open` to
`close`), and prunes only if it can take that lock alone: an entry another
build may still read is never pruned under it. (A busy shared cache is
then pruned by whichever build next finds itself alone.) Were an entry
removed anyway, by hand, a build finds it missing and compiles it again.

Only regular files two directories below a kind are entries: anything else
(a note, `.DS_Store`, a link, a stray directory) is left alone by pruning,
and a link or file where one of the cache's own directories belongs is
replaced by that directory, never written through (engine/builddir.py).

A cache is private to its user (directories 0700, entries 0600), but for a
directory the user named and set up for a group beforehand: one that exists,
group-writable and setgid (`install -d -m 2770 -g devs DIR`). That one is
shared with its group: its subdirectories are made 2770 (setgid, so they
and their entries keep the group), entries 0640 (replaced by rename, never
written in place: no one needs to write into one), the lock 0660. Its root
is the user's and is never chmodded. The default cache, in a workspace
that may be anyone's (an unpacked archive keeps its modes), is always
private. Every member can then write any entry: sharing a cache means
trusting the group's objects.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import stat
import tempfile
import time
from pathlib import Path

from .builddir import MODE, private_dir
from .errors import ConfigError

DEFAULT_MAX_BYTES = 2 << 30            # 2 GiB
DEFAULT_MAX_AGE = 30 * 24 * 3600       # 30 days
GROUP_SHARED = stat.S_ISGID | stat.S_IWGRP     # the bits that mark a directory set up for a group
PRIVATE_MODES = (MODE, 0o600, 0o600)           # directories', entries', the lock's
SHARED_MODES = (0o2770, 0o640, 0o660)


class Cache:
    def __init__(self, root: Path, named: bool = False):
        self.root = Path(root)
        self.named = named        # the user named it (`cache_dir`): it may be shared with a group
        self.written = 0          # entries this instance added: nothing added, nothing to prune
        self._checked: set[Path] = set()     # directories given their mode (a build's worth: once each)
        self._modes: tuple[int, int, int] | None = None     # PRIVATE_MODES or SHARED_MODES, once decided
        self._lock: int | None = None        # the shared lock's descriptor, while open

    def open(self) -> None:
        """Start using the cache: make it, and hold it shared (see above).
        Waits only while another build prunes it."""
        try:
            fd = _open_lock(self.root / ".lock", self._open_root()[2])
        except PermissionError:
            raise ConfigError(f"cannot use {self.root} as the cache: permission denied. A cache is either this "
                              f"user's or set up for a group of theirs (`install -d -m 2770 -g GROUP {self.root}`: "
                              f"README, \"Sharing a cache between users\")") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)
        except BaseException:
            os.close(fd)
            raise
        self._lock = fd

    def _open_root(self) -> tuple[int, int, int]:
        """The modes of the cache's directories, entries and lock: decided
        once, from the root as the user left it (module docstring). A root
        thinwatch makes is private: only the user can set one up for a group."""
        if self._modes is None:
            try:
                found = os.stat(self.root, follow_symlinks=False).st_mode
            except FileNotFoundError:
                found = 0
            if self.named and stat.S_ISDIR(found) and found & GROUP_SHARED == GROUP_SHARED:
                private_dir(self.root, mode=None)       # a real directory, its mode the user's
                self._modes = SHARED_MODES
            else:
                self.root.mkdir(parents=True, exist_ok=True)
                private_dir(self.root)
                self._modes = PRIVATE_MODES
        return self._modes

    def close(self) -> None:
        if self._lock is not None:
            os.close(self._lock)          # drops the lock
            self._lock = None

    def _path(self, kind: str, key: str) -> Path:
        return Path(self._name(kind, key))

    def _name(self, kind: str, key: str) -> str:
        # A string: building thousands of Paths was most of checking a no-op's entries.
        return os.path.join(self.root, kind, key[:2], key)

    def get(self, kind: str, key: str) -> bytes | None:
        path = self._path(kind, key)
        try:
            data = path.read_bytes()
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            return None         # (one a group member made unreadable is rebuilt and replaced, as a bad one)
        head, sep, payload = data.partition(b"\n")
        if sep and head.decode("ascii", "replace") == hashlib.sha256(payload).hexdigest():
            return payload
        path.unlink(missing_ok=True)
        return None

    def has(self, kind: str, key: str) -> bool:
        return os.path.isfile(self._name(kind, key))

    def prune(self, keep: set[tuple[str, str]], max_bytes: int = DEFAULT_MAX_BYTES,
              max_age: float = DEFAULT_MAX_AGE) -> int:
        """Drop entries older than `max_age`, then the oldest until the cache
        fits in `max_bytes`; never an entry in `keep`. Returns entries removed:
        none if another build is using the cache. The build's last use of it:
        a lock that cannot be made exclusive may be dropped (flock converts
        by releasing first)."""
        if self._lock is not None:
            try:
                fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return 0
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
        dir_mode, entry_mode, _ = self._open_root()
        for directory in (path.parent.parent, path.parent):   # each checked, not just the last
            if directory not in self._checked:
                private_dir(directory, mode=dir_mode)
                self._checked.add(directory)
        atomic_write(path, hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload, entry_mode)
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


def _open_lock(path: Path, mode: int) -> int:
    """`path` opened for writing (flock over NFS is a POSIX write lock, which
    needs it), made if absent. A new one is made under a temporary name and
    linked into place with its mode set, so the creator's umask never closes
    a shared cache's lock to the group, even for a moment."""
    while True:
        try:
            return os.open(path, os.O_RDWR | os.O_NOFOLLOW)
        except FileNotFoundError:
            pass
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            os.fchmod(fd, mode)
            os.link(tmp, path)          # never over another: one made meanwhile is opened instead
            return fd
        except BaseException as e:
            os.close(fd)
            if not isinstance(e, FileExistsError):
                raise
        finally:
            os.unlink(tmp)


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

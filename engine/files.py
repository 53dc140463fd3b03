"""What a file looks like from outside: a stat stamp and a content digest.

One definition for every "is this still the file I saw?" question: sources
(stat-first no-op detection), materialized objects, the record, the watched
files and the executable.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

RACY_SECONDS = 2.0     # a file changed this close to when we read it may change again unseen


def stamp(path: Path | str) -> list[int] | None:
    """Size, modification and change times, inode and device; None if absent.

    A list, so that it survives a round trip through JSON unchanged.
    """
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev]


def installed(path: str) -> str:
    """Size and mtime of a program or library, as a key names it: an upgrade
    rewrites the file, and its ctime would also move with every hard link."""
    st = os.stat(path)
    return f"{st.st_size} {st.st_mtime_ns}"


def vouches(stamp: list[int] | None, read_at: float) -> bool:
    """Whether a stamp taken at `read_at` (time.time()) can stand for the
    content read then: only if the file was last modified well before, since
    an edit within the file system's timestamp granularity leaves it as it was
    ("racily clean")."""
    return stamp is not None and read_at - stamp[1] / 1e9 > RACY_SECONDS


def digest(path: Path) -> str | None:
    """SHA-256 of the file's content; None if it cannot be read."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None

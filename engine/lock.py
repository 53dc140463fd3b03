"""One thinwatch per workspace: an advisory lock on the workspace directory.

The kernel drops a flock when its holder dies, even by SIGKILL, so a stale
lock can never keep a workspace locked.

The flock is on the workspace directory, not on a file in the build
directory: `rm -rf .thinwatch` (or `git clean -xdf`) under a running watch
would take such a file away with its lock, and a second thinwatch would
lock a new file while the first one still builds there. The workspace
directory outlives every build directory in it, and two paths to one
workspace (a link, a bind mount) reach one lock. `<build dir>/lock` only
says who holds it, for the message a second thinwatch prints; it is opened
without following links (never truncate through one) and only if it is a
plain file of its own (a hard link could be anyone's file).
"""

from __future__ import annotations

import fcntl
import os
import stat
import sys
import time
from pathlib import Path

from .builddir import open_build_dir
from .errors import ConfigError


class WorkspaceLock:
    def __init__(self, build_dir: Path, wait: bool = False):
        open_build_dir(build_dir)
        self.path = build_dir / "lock"
        self.fd = os.open(build_dir.parent, os.O_RDONLY | os.O_DIRECTORY)
        while True:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not wait:
                    os.close(self.fd)
                    raise ConfigError(f"another thinwatch is using {build_dir.parent} ({self._holder()}); "
                                      f"stop it, or pass --wait to wait for it") from None
                time.sleep(0.1)
        try:
            self.note = self._open_note()
        except BaseException:
            self._unlock()
            raise
        os.ftruncate(self.note, 0)
        os.pwrite(self.note, f"pid {os.getpid()}: {' '.join(sys.argv)}\n".encode(), 0)

    def _open_note(self) -> int:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK, 0o600)
        except OSError as e:
            raise ConfigError(f"cannot use {self.path}: " + (
                "it is a symbolic link; thinwatch never writes through a link it did not create: remove it"
                if os.path.islink(self.path) else e.strerror)) from None
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1:
            os.close(fd)
            raise ConfigError(f"cannot use {self.path}: it is not a plain file of its own "
                              f"(a directory, a device or a hard link to another file): remove it")
        return fd

    def _holder(self) -> str:
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            try:
                said = os.pread(fd, 4096, 0)
            finally:
                os.close(fd)
        except OSError:            # gone with its build directory, or not a file: nothing to read
            return "unknown"
        return said.decode("utf-8", "replace").strip() or "unknown"

    def _unlock(self) -> None:
        os.close(self.fd)          # closing drops the flock
        self.fd = -1

    def release(self) -> None:
        if self.fd >= 0:
            os.ftruncate(self.note, 0)
            os.close(self.note)
            self._unlock()

"""One thinwatch per workspace: an advisory lock on `<build dir>/lock`.

The kernel drops a flock when its holder dies, even by SIGKILL, so a stale
lock can never keep a workspace locked.
"""

from __future__ import annotations

import fcntl
import os
import sys
import time
from pathlib import Path

from .errors import ConfigError


class WorkspaceLock:
    def __init__(self, build_dir: Path, wait: bool = False):
        build_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.path = build_dir / "lock"
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        while True:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not wait:
                    holder = os.pread(self.fd, 4096, 0).decode("utf-8", "replace").strip() or "unknown"
                    os.close(self.fd)
                    raise ConfigError(f"another thinwatch is using {build_dir.parent} ({holder}); "
                                      f"stop it, or pass --wait to wait for it") from None
                time.sleep(0.1)
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, f"pid {os.getpid()}: {' '.join(sys.argv)}\n".encode(), 0)

    def release(self) -> None:
        if self.fd >= 0:
            os.ftruncate(self.fd, 0)
            os.close(self.fd)          # closing drops the flock
            self.fd = -1

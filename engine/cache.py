"""The content-addressed cache under `<build dir>/cache/`.

    cache/emit/<k[:2]>/<k>   orjson: summary + import fragments of one module
    cache/bc/<k[:2]>/<k>     pre-link bitcode of one module
    cache/obj/<k[:2]>/<k>    native object for one backend key

`k` is the emission key (hash of source bytes and emission options) or the
backend key digest. Each entry starts with the SHA-256 of its payload and a
newline; an entry whose payload does not match is discarded on read, so a torn
or corrupted file is rebuilt, never used. Writes go to a temporary name in the
same directory and are renamed into place.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path


class Cache:
    def __init__(self, root: Path):
        self.root = Path(root)

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

    def put(self, kind: str, key: str, payload: bytes) -> None:
        path = self._path(kind, key)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        atomic_write(path, hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload)


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

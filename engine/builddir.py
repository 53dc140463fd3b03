"""The build directory `<workspace>/.thinwatch/`, the only place thinwatch
writes (but for a cache directory the user names: engine/cache.py).

The rules every writer follows (README, "Reliability"):
- thinwatch writes only inside its build directory, and never through a
  symbolic link it did not create (it creates none). A workspace is often
  someone else's checkout: a `.thinwatch` link or a link inside it could
  point at any directory the user can write, and a build would fill it or
  `clean` would empty it. So the build directory must be a real directory,
  a link at its top level is refused with its name (one there may be
  deliberate, `out -> ~/bin`: the user decides), files are opened with
  O_NOFOLLOW, and deeper in, where only thinwatch has business (the cache),
  a link or file standing where its directory belongs is removed (the link,
  never what it points at).
- it fixes the modes of what it owns: its directories are private (0700)
  whatever they were found with, since the cache holds other people's code;
  but for a cache directory the user set up for a group (engine/cache.py).
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from .errors import ConfigError

MODE = 0o700


def open_build_dir(path: Path) -> Path:
    """`path` as a private real directory, made if absent; a ConfigError
    naming it if it is a link or a file, or holds a link."""
    try:
        private_dir(path, replace=False)
        with os.scandir(path) as entries:
            links = sorted(entry.path for entry in entries if entry.is_symlink())
    except OSError as e:
        raise ConfigError(f"cannot use {path} as thinwatch's build directory: {e.strerror}") from None
    if links:
        raise ConfigError(_refused(Path(links[0])))
    _ignore_for_git(path)
    return path


def _ignore_for_git(path: Path) -> None:
    """A `.gitignore` of `*` in the build directory, as cargo writes in
    `target/`: the user's `git status` stays clean without a line in their
    own `.gitignore`. Written only where there is none (one the user changed
    is theirs); O_EXCL with O_NOFOLLOW never writes through a link."""
    name = path / ".gitignore"
    try:
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    except FileExistsError:
        return
    except OSError as e:
        raise ConfigError(f"cannot write {name}: {e.strerror}") from None
    try:
        os.write(fd, b"*\n")
    except OSError as e:
        os.unlink(name)          # not left empty: the next build writes it again
        raise ConfigError(f"cannot write {name}: {e.strerror}") from None
    finally:
        os.close(fd)


def private_dir(path: Path, replace: bool = True, mode: int | None = MODE) -> None:
    """Make `path` a real directory with `mode` (0700; a group-shared cache's
    2770; None: as found, for a shared cache's root, which is the user's).
    Something else at its name is unlinked if `replace`, else a ConfigError."""
    while True:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
            break
        except FileNotFoundError:
            try:
                os.mkdir(path, MODE)         # never wider than 0700 before the fchmod below
            except FileExistsError:         # made meanwhile: look again
                pass
        except OSError as e:
            if e.errno not in (errno.ELOOP, errno.ENOTDIR):
                raise
            if not replace:
                raise ConfigError(_refused(path)) from None
            try:
                os.unlink(path)
            except (FileNotFoundError, IsADirectoryError):
                pass         # another writer replaced it meanwhile: look again
    try:
        if mode is not None and stat.S_IMODE(os.fstat(fd).st_mode) != mode:   # also undoes the umask
            os.fchmod(fd, mode)
    finally:
        os.close(fd)


def _refused(path: Path) -> str:
    if path.is_symlink():
        return (f"{path} is a symbolic link (to {os.readlink(path)}); thinwatch writes only into its own "
                f"build directory, never through a link: remove the link")
    return f"{path} is not a directory; thinwatch keeps its build state there: move it away"

"""Settings as a manifest gives them (`thinwatch.toml`, or the
`metadata.thinwatch` table of a `Cargo.toml`), checked where they are read:
a value of the wrong type or out of range is a configuration error naming
the file, the key and what it must be, never an internal error later or a
setting quietly misread. TOML types are named as TOML names them.
"""

from __future__ import annotations

import datetime
import math
import re
import tomllib
from pathlib import Path

from . import utf8
from .cache import DEFAULT_MAX_AGE, DEFAULT_MAX_BYTES
from .errors import ConfigError

_TOML_AT = re.compile(r"\(at line (\d+), column (\d+)\)")
DASK = "dask://"                    # an executor setting's scheme for a Dask scheduler
_EXECUTOR = re.compile(re.escape(DASK) + r"[^\s/:]+:\d{1,5}")


def read_toml(path: Path) -> dict:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ConfigError(e.strerror or str(e), str(path)) from None
    try:
        return tomllib.loads(utf8.decode(data))
    except utf8.NotUtf8 as e:
        raise ConfigError(e.message, str(path), e.line, e.col) from None
    except tomllib.TOMLDecodeError as e:
        at = _TOML_AT.search(str(e))
        raise ConfigError(str(e), str(path), *(map(int, at.groups()) if at else ())) from None


# TOML's types as messages name them; bool before int, which it subclasses.
_KINDS = ((bool, "a boolean"), (int, "an integer"), (float, "a float"), (str, "a string"),
          (list, "an array"), (dict, "a table"), ((datetime.date, datetime.time), "a date or time"))


def _kind(value) -> str:
    """The TOML type of a parsed value, as a message names it."""
    return next((name for types, name in _KINDS if isinstance(value, types)), type(value).__name__)


def executor_setting(value: str) -> str:
    """Where tasks run, as a manifest or `--executor` says it: "" (unset,
    or "local") or "dask://HOST:PORT"; a ValueError says what it must be."""
    if value in ("", "local"):
        return ""
    if not _EXECUTOR.fullmatch(value):
        raise ValueError(f'must be "local" or "dask://HOST:PORT" (it is {value!r})')
    return value


class Settings:
    """One table of a manifest; `where` is its dotted name with a trailing
    dot (`build.`), so that messages name a key as the file spells it."""

    def __init__(self, path: Path, values, where: str = ""):
        if not isinstance(values, dict):
            raise ConfigError(f"{where.rstrip('.') or 'the manifest'} must be a table (it is {_kind(values)})",
                              str(path))
        self.path, self.values, self.where = path, values, where

    def _wrong(self, name: str, expected: str, value, numeric: bool = False) -> ConfigError:
        """`numeric`: a number is expected, so a number out of range is shown as it is."""
        shown = value if numeric and _kind(value) in ("an integer", "a float") else _kind(value)
        return ConfigError(f"{name} must be {expected} (it is {shown})", str(self.path))

    def _string(self, name: str, value) -> str:
        if not isinstance(value, str):
            raise self._wrong(name, "a string", value)
        if "\0" in value:      # no file name, argument or symbol can hold one
            raise ConfigError(f"{name} must not contain a NUL character", str(self.path))
        return value

    def table(self, key: str) -> "Settings":
        return Settings(self.path, self.values.get(key, {}), f"{self.where}{key}.")

    def string(self, key: str, default: str) -> str:
        return self._string(self.where + key, self.values.get(key, default))

    def strings(self, key: str, default: list[str]) -> list[str]:
        value = self.values.get(key, default)
        if not isinstance(value, list):
            raise self._wrong(self.where + key, "an array of strings", value)
        return [self._string(f"{self.where}{key}[{i}]", item) for i, item in enumerate(value)]

    def integer(self, key: str, default: int | None, low: int, high: int | None = None) -> int | None:
        value = self.values.get(key, default)
        if value is None:          # unset, where unset means something (TOML has no null)
            return None
        # bool is an int to Python, not to TOML: `opt_level = true` is a mistake
        if isinstance(value, bool) or not isinstance(value, int) or value < low \
                or (high is not None and value > high):
            expected = f"an integer from {low} to {high}" if high is not None else f"an integer of at least {low}"
            raise self._wrong(self.where + key, expected, value, numeric=True)
        return value

    def number(self, key: str, default: float, low: float) -> float:
        value = self.values.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                or value < low:
            raise self._wrong(self.where + key, f"a number of at least {low:g}", value, numeric=True)
        return float(value)

    def cache_limits(self, prefix: str = "") -> dict:
        """The cache's size and age limits (`<prefix>max_size_mb`,
        `<prefix>max_age_days`), as a `Project`'s fields."""
        return {"cache_max_bytes": self.integer(f"{prefix}max_size_mb", DEFAULT_MAX_BYTES >> 20, 0) << 20,
                "cache_max_age": self.number(f"{prefix}max_age_days", DEFAULT_MAX_AGE / 86400, 0) * 86400}

    def directory(self, key: str) -> Path | None:
        """A directory, relative to the manifest's; "" or unset: None. Links
        are resolved here, so that nothing later replaces one by a directory."""
        value = self.string(key, "")
        return (self.path.parent / Path(value).expanduser()).resolve() if value else None

    def executor(self, key: str) -> str:
        try:
            return executor_setting(self.string(key, ""))
        except ValueError as e:
            raise ConfigError(f"{self.where}{key} {e}", str(self.path)) from None

    def flag(self, key: str, default: bool) -> bool:
        value = self.values.get(key, default)
        if not isinstance(value, bool):
            raise self._wrong(self.where + key, "true or false", value)
        return value

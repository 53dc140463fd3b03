"""Which executor a session's tasks run on: the local worker processes
(`pool.TaskPool`, the default), or a Dask cluster (`dask_executor`) when
`--executor` or the workspace's `executor` setting says `dask://HOST:PORT`.
Dask is imported only then."""

from __future__ import annotations

from pathlib import Path

from .errors import ConfigError
from .executor import Executor
from .frontends import open_project
from .pool import TaskPool
from .settings import DASK


def setting_of(root: Path, options=None) -> str:
    """The workspace's executor setting, read as the session starts. A
    manifest that cannot be read gives the default: the build says why."""
    try:
        return open_project(root, options).executor
    except ConfigError:
        return ""


def open_executor(setting: str, jobs: int) -> Executor:
    """The executor a checked setting (`settings.executor_setting`) names;
    a ConfigError if it cannot be used (Dask missing, scheduler unreachable)."""
    if not setting:
        return TaskPool(jobs)
    from .dask_executor import DaskExecutor
    return DaskExecutor(setting.removeprefix(DASK))

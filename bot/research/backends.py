"""Where research tasks run: local worker processes or an existing Dask cluster; shared types.

Workers must run the same code as the process that sends them tasks, or the same task could
give another result: ``code_fingerprint`` hashes the sources and ``require_same_code``
refuses a cluster whose workers differ (``cluster_code`` checks the scheduler and the workers).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import shared
from shared.domain.errors import ConfigError

POLL_S = 0.5
Progress = Callable[[int, int], None]
StopCheck = Callable[[], bool]
TaskFunction = Callable[[Any, Any], Any]  # (task, shared data) -> result


class Cancelled(Exception):  # noqa: N818 - a state, not an error
    """The run was cancelled (cancel flag or SIGTERM) before every task finished."""


@dataclass(frozen=True)
class LocalBackend:
    """Worker processes on this machine (``workers`` = 1: in this process)."""

    workers: int = 2

    def describe(self) -> str:
        return f"{self.workers} local worker{'s' * (self.workers != 1)}"


@dataclass(frozen=True)
class DaskBackend:
    """An existing Dask scheduler (``dask scheduler``) and its workers."""

    address: str
    connect_timeout_s: float = 10.0

    def describe(self) -> str:
        return f"Dask cluster {self.address}"


Backend = LocalBackend | DaskBackend


def code_fingerprint() -> str:
    """A hash of MyTrader's Python sources (``bot`` and ``shared``): the scheduler and the workers
    must run the same code as the client to give the same results. The same from a checkout,
    an editable install or ``pip install .`` of the same version."""
    digest = hashlib.sha256()
    for package in (Path(__file__).resolve().parents[1], Path(shared.__file__).resolve().parent):
        for path in sorted(package.rglob("*.py")):
            digest.update(str(path.relative_to(package.parent)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def require_same_code(worker_prints: dict[str, str]) -> None:
    """Refuse workers whose code differs from ours (their results could differ)."""
    mine = code_fingerprint()
    other = sorted(f"{address} (code {found})" for address, found in worker_prints.items()
                   if found != mine)
    if other:
        raise ConfigError(f"Dask worker(s) {', '.join(other)} run other code than this client "
                          f"(code {mine}): install the same version of MyTrader on every "
                          "machine (pip install . from the same commit) and restart them")

"""Where research tasks run: local worker processes or an existing Dask cluster; shared types.

Workers must run the same code as the process that sends them tasks, or the same task could
give another result: ``code_fingerprint`` hashes the bot's sources and ``require_same_code``
refuses a cluster whose workers differ.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
    """A hash of the bot's Python sources: workers must run the same code to give the same
    results."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def require_same_code(worker_prints: dict[str, str]) -> None:
    """Refuse workers whose code differs from ours (their results could differ)."""
    mine = code_fingerprint()
    other = sorted(address for address, found in worker_prints.items() if found != mine)
    if other:
        raise ConfigError(f"Dask worker(s) {', '.join(other)} run other code than this checkout "
                          "(start them from the same version of MyTrader)")

"""Run research tasks on an existing Dask scheduler (imported only when ``--cluster`` is given).

The bars are scattered once with ``broadcast=True`` (one copy per worker, not one per task);
every task is submitted with its own key, so the results come back keyed as on the local
backend. The scheduler and the workers must run this code (checked first, by a hash of its
sources: ``cluster_code``).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from typing import Any

from distributed import Client, wait

from bot.research.backends import (
    POLL_S,
    Cancelled,
    DaskBackend,
    Progress,
    StopCheck,
    TaskFunction,
)
from bot.research.cluster_code import check_scheduler, check_workers
from bot.research.dask_probe import handshake_problem
from shared.domain.errors import ConfigError

logger = logging.getLogger(__name__)


def connect(backend: DaskBackend) -> Client:
    """A client of the scheduler, or ConfigError saying it cannot be reached or is not Dask."""
    problem = handshake_problem(backend.address, backend.connect_timeout_s)
    if problem is not None:
        raise ConfigError(f"--cluster {backend.address}: {problem}")
    try:
        return Client(backend.address, timeout=f"{backend.connect_timeout_s}s")
    except (OSError, TimeoutError) as exc:
        raise ConfigError(f"--cluster {backend.address}: no Dask scheduler answers ({exc})"
                          ) from None
    except (MemoryError, ValueError, TypeError) as exc:  # a handshake that is not Dask's
        raise ConfigError(f"--cluster {backend.address}: the server there is not a Dask "
                          f"scheduler ({type(exc).__name__})") from None


def run_on_dask(
    tasks: Sequence[Any], keys: Sequence[str], function: TaskFunction, data: Any,
    backend: DaskBackend, report: Progress, stop: StopCheck,
) -> dict[str, Any]:
    """``run_many`` on a Dask cluster."""
    client = connect(backend)
    futures: list = []
    try:
        check_scheduler(client, backend.address)
        workers = client.scheduler_info(n_workers=-1).get("workers", {})
        if not workers:
            raise ConfigError(f"--cluster {backend.address}: the scheduler has no workers")
        check_workers(client, backend.address)
        logger.info("research on %s: %d workers, %d tasks", backend.address, len(workers),
                    len(tasks))
        shared = client.scatter(data, broadcast=True, hash=False)
        run = uuid.uuid4().hex[:8]
        futures = [client.submit(function, task, shared, key=f"mytrader-{run}-{name}",
                                 pure=False) for task, name in zip(tasks, keys, strict=True)]
        name_of = {future.key: name for future, name in zip(futures, keys, strict=True)}
        results: dict[str, Any] = {}
        pending = set(futures)
        while pending:
            if stop():
                raise Cancelled(f"cancelled after {len(results)} of {len(tasks)} tasks")
            try:
                done, pending = wait(list(pending), timeout=POLL_S,
                                     return_when="FIRST_COMPLETED")
            except TimeoutError:
                continue
            for future in done:
                results[name_of[future.key]] = future.result()  # a task's error is raised
                report(len(results), len(tasks))
        return results
    finally:
        if futures:
            client.cancel(futures)
        client.close()

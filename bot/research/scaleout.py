"""``run_many``: the same tasks on local worker processes or on a Dask cluster, same results.

Every task carries its own name (a hash of what it runs and its seed), so results are keyed and
ordered the same way whatever the backend, the number of workers or the order tasks finish in.
The bars are shipped once per worker, not once per task: a local pool receives them in its
initializer, a Dask cluster gets them by ``scatter(broadcast=True)``.

The local default is a ``multiprocessing`` pool, not a Dask ``LocalCluster``: it starts in
milliseconds with no scheduler, nanny or dashboard processes (a LocalCluster takes seconds and
~100 MB per worker more), and its ``terminate()`` ends running tasks at once when a run is
cancelled. Workers come from a fork server that has already imported the task's module: they
start fast, and never inherit the parent's threads (pyarrow's pools) mid-lock as a plain fork
could. One worker runs in-process. (As with any non-fork pool, a script of your own that calls
``run_many`` with several workers needs the ``if __name__ == "__main__":`` guard;
``python -m bot research`` has it.)
Between tasks (and every half second while they run) ``should_stop`` is asked; when it says
so, pending tasks are dropped and running ones ended, and ``Cancelled`` is raised.
"""

from __future__ import annotations

import logging
import multiprocessing
import queue
import signal
from collections.abc import Callable, Sequence
from typing import Any

from bot.research.backends import (
    POLL_S,
    Backend,
    Cancelled,
    DaskBackend,
    LocalBackend,
    Progress,
    StopCheck,
    TaskFunction,
)

logger = logging.getLogger(__name__)
__all__ = ["Backend", "Cancelled", "DaskBackend", "LocalBackend", "Progress", "StopCheck",
           "run_many"]

_shared: dict[str, Any] = {}


def run_many(
    tasks: Sequence[Any], function: TaskFunction, data: Any, backend: Backend,
    progress: Progress | None = None, should_stop: StopCheck | None = None,
    key: Callable[[Any], str] = lambda task: task.key,
) -> dict[str, Any]:
    """Run ``function(task, data)`` for every task; return ``{key(task): result}``.

    A task's exception ends the run and is raised here (its message intact).
    """
    keys = [key(task) for task in tasks]
    if len(set(keys)) != len(keys):
        raise ValueError("two tasks have the same key")
    stop = should_stop or (lambda: False)
    report = progress or (lambda done, total: None)
    if not tasks:
        return {}
    if isinstance(backend, DaskBackend):
        from bot.research.dask_backend import run_on_dask  # loads distributed only when asked

        return run_on_dask(tasks, keys, function, data, backend, report, stop)
    if backend.workers <= 1 or len(tasks) == 1:
        return _run_here(tasks, keys, function, data, report, stop)
    return _run_in_pool(tasks, keys, function, data, backend.workers, report, stop)


def _run_here(tasks, keys, function, data, report: Progress, stop: StopCheck) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for task, name in zip(tasks, keys, strict=True):
        if stop():
            raise Cancelled(f"cancelled after {len(results)} of {len(tasks)} tasks")
        results[name] = function(task, data)
        report(len(results), len(tasks))
    return results


def _install(function: TaskFunction, data: Any) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the parent's stop handler is not ours
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    _shared["function"], _shared["data"] = function, data


def _call(name: str, task: Any) -> tuple[str, Any]:
    return name, _shared["function"](task, _shared["data"])


def _run_in_pool(tasks, keys, function, data, workers: int, report: Progress,
                 stop: StopCheck) -> dict[str, Any]:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([function.__module__])  # workers start with it imported
    finished: queue.Queue = queue.Queue()
    results: dict[str, Any] = {}
    before = set(multiprocessing.active_children())
    pool = context.Pool(min(workers, len(tasks)), initializer=_install,
                        initargs=(function, data))
    processes = [p for p in multiprocessing.active_children() if p not in before]
    try:
        for task, name in zip(tasks, keys, strict=True):
            pool.apply_async(_call, (name, task), callback=finished.put,
                             error_callback=lambda exc: finished.put(exc))
        pool.close()
        while len(results) < len(tasks):
            if stop():
                raise Cancelled(f"cancelled after {len(results)} of {len(tasks)} tasks")
            try:
                item = finished.get(timeout=POLL_S)
            except queue.Empty:
                _check_alive(processes)
                continue
            if isinstance(item, BaseException):
                raise item
            results[item[0]] = item[1]
            report(len(results), len(tasks))
    finally:
        pool.terminate()  # ends running tasks at once on a cancel or an error
        pool.join()
    return results


def _check_alive(processes: Sequence[multiprocessing.process.BaseProcess]) -> None:
    """A pool loses the task of a worker that dies (killed, out of memory): say so, not hang."""
    dead = [p for p in processes if p.exitcode is not None]
    if dead:
        raise RuntimeError(f"a research worker process died (exit code {dead[0].exitcode}, "
                           "out of memory?); its task is lost")

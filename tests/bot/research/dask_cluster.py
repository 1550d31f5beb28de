"""A real Dask scheduler and workers as subprocesses on loopback (for tests and benchmarks)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def dask_cluster(workers: int, log_folder: Path, deadline_s: float = 90) -> Iterator[str]:
    """``dask scheduler`` and ``dask worker --nworkers N`` started from this checkout; yields the
    scheduler address once every worker has joined; stops them all afterwards."""
    from distributed import Client

    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    common = ["--no-dashboard"]
    processes = []
    with (log_folder / "scheduler.log").open("w") as log:
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "dask", "scheduler", "--host", "127.0.0.1", "--port",
             str(port), *common], cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
    with (log_folder / "workers.log").open("w") as log:
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "dask", "worker", address, "--nworkers", str(workers),
             "--nthreads", "1", "--host", "127.0.0.1", *common], cwd=REPO_ROOT, env=env,
            stdout=log, stderr=subprocess.STDOUT))
    try:
        end = time.monotonic() + deadline_s
        joined = 0
        while time.monotonic() < end:
            if any(p.poll() is not None for p in processes):
                raise RuntimeError("a Dask process exited:\n"
                                   + (log_folder / "scheduler.log").read_text()[-2000:]
                                   + (log_folder / "workers.log").read_text()[-2000:])
            try:
                with Client(address, timeout="2s") as client:
                    joined = len(client.scheduler_info(n_workers=-1)["workers"])
            except OSError:
                joined = 0
            if joined >= workers:
                break
            time.sleep(0.2)
        else:
            raise RuntimeError(f"only {joined} of {workers} Dask workers joined in {deadline_s} s")
        yield address
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in reversed(processes):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

"""``pip install .`` gives a working ``mytrader``; the docs' Dask cluster recipe works as written.

One venv per module: MyTrader installed with pip (no dependencies: the running venv's packages
are reused) and used from an empty working folder, so only the installed copy can be imported.
The cluster recipe is read from ``docs/research.md`` and run line by line: a real
``dask scheduler`` and ``dask worker`` on a free loopback port, then the sweep.
"""

from __future__ import annotations

import csv
import re
import shlex
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from tests.integration.installed import Venv, bare_venv, clean_env, copy_sources, installed_venv
from tests.support import REPO_ROOT, wait_for

pytestmark = pytest.mark.integration

RECIPE_PAGE = REPO_ROOT / "docs" / "research.md"
RECIPE_MARK = "<!-- cluster-recipe:"
INSTALLED = ("bot", "shared", "dashboard", "app_pages", "streamlit_app", "dashboard_guard")
START_S = 90  # processes starting on a loaded 2-core machine
SWEEP_S = 240


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Venv:
    root = tmp_path_factory.mktemp("installed")
    return installed_venv(root / "venv", copy_sources(root / "src"))


@pytest.fixture
def elsewhere(tmp_path) -> Path:
    """An empty working folder: nothing of the checkout is importable from it."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    return folder


def test_mytrader_is_python_m_bot_from_any_folder(venv, elsewhere):
    done = subprocess.run([str(venv.bin("mytrader")), "--help"], cwd=elsewhere,
                          env=clean_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    same = subprocess.run([str(venv.bin("python")), "-m", "bot", "--help"], cwd=elsewhere,
                          env=clean_env(), capture_output=True, text=True, timeout=120)
    assert done.stdout == same.stdout and "research" in done.stdout
    found = subprocess.run(
        [str(venv.bin("python")), "-c", "import importlib.util as u, sys; specs = "
         "[u.find_spec(n) for n in sys.argv[1:]]; print('\\n'.join(s.origin or "
         "list(s.submodule_search_locations)[0] for s in specs))", *INSTALLED],
        cwd=elsewhere, env=clean_env(), capture_output=True, text=True, check=True)
    site = venv.site_packages().resolve()
    for name, origin in zip(INSTALLED, found.stdout.split(), strict=True):
        assert Path(origin).resolve().is_relative_to(site), f"{name} imported from {origin}"
    assert (site / "app_pages" / "overview.py").is_file()  # streamlit_app.py names pages by path
    assert (site / "dashboard" / "assets" / "favicon.svg").is_file()


def recipe() -> list[list[str]]:
    """The cluster recipe's commands (scheduler, worker, client) as argument lists."""
    text = RECIPE_PAGE.read_text(encoding="utf-8")
    block = re.search(re.escape(RECIPE_MARK) + r".*?\n```bash\n(.*?)```", text, re.S)
    assert block is not None, f"no cluster recipe in {RECIPE_PAGE}"
    joined = block.group(1).replace("\\\n", " ")
    commands = [shlex.split(line, comments=True) for line in joined.splitlines()]
    return [command for command in commands if command]


def localise(command: list[str], venv: Venv, port: int) -> list[str]:
    """The recipe's command on loopback: this venv for ``.venv``, a free port for 8786."""
    program = command[0]
    assert program.startswith(".venv/bin/"), program
    args = [arg.replace("SCHEDULER", "127.0.0.1").replace("8786", str(port))
            for arg in command[1:]]
    return [str(venv.bin(program.removeprefix(".venv/bin/"))), *args]


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def started(command: list[str], cwd: Path, log: Path, env: dict[str, str] | None = None
            ) -> Iterator[subprocess.Popen[bytes]]:
    """A process for the test's duration; SIGTERM (then SIGKILL) afterwards."""
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=cwd, env=env or clean_env(), stdout=out,
                                   stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def workers_joined(address: str) -> int:
    from distributed import Client

    try:
        with Client(address, timeout="5s") as client:
            return len(client.scheduler_info(n_workers=-1)["workers"])
    except OSError:
        return 0


def wait_workers(address: str, count: int, process: subprocess.Popen[bytes], log: Path) -> None:
    wait_for(lambda: workers_joined(address) >= count, START_S, f"{count} Dask workers",
             process=process, log=log)


def run_client(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, env=clean_env(), capture_output=True, text=True,
                          timeout=SWEEP_S)


def test_the_docs_cluster_recipe_works_as_written_and_refuses_other_code(
        venv, elsewhere, tmp_path):
    scheduler, worker, client = recipe()
    assert scheduler[:2] == [".venv/bin/dask", "scheduler"], scheduler
    assert worker[:2] == [".venv/bin/dask", "worker"], worker
    assert "--cluster" in client, client
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    nworkers = int(worker[worker.index("--nworkers") + 1])
    with ExitStack() as stack:
        stack.enter_context(started(localise(scheduler, venv, port), elsewhere,
                                    tmp_path / "scheduler.log"))
        workers = stack.enter_context(started(localise(worker, venv, port), elsewhere,
                                              tmp_path / "workers.log"))
        wait_workers(address, nworkers, workers, tmp_path / "workers.log")

        done = run_client(localise(client, venv, port), elsewhere)
        assert done.returncode == 0, done.stderr[-3000:]
        with (elsewhere / "sweep.csv").open() as table:
            rows = list(csv.DictReader(table))
        assert len(rows) == 3  # stop_atr=1.5,2,3

        # A worker running another version of the code: the next run is refused in one line.
        other = copy_sources(tmp_path / "other")
        with (other / "bot" / "research" / "tasks.py").open("a") as source:
            source.write("# another version\n")
        old = bare_venv(tmp_path / "old-venv")
        stack.enter_context(started(
            [str(old.bin("python")), "-m", "dask", "worker", address, "--nworkers", "1"],
            elsewhere, tmp_path / "other-worker.log", {**clean_env(), "PYTHONPATH": str(other)}))
        wait_workers(address, nworkers + 1, workers, tmp_path / "workers.log")
        refused = run_client(localise(client, venv, port), elsewhere)
        assert refused.returncode == 2, refused.stderr[-3000:]
        assert "run other code than this client" in refused.stderr
        assert "pip install ." in refused.stderr and "Traceback" not in refused.stderr


def test_a_scheduler_without_mytrader_is_refused_in_one_line(venv, elsewhere, tmp_path):
    """The README's old recipe failed here: a scheduler that cannot import ``bot``."""
    *_, client = recipe()
    bare = bare_venv(tmp_path / "bare")
    port = free_port()
    command = [str(bare.bin("python")), "-m", "dask", "scheduler", "--port", str(port)]
    with started(command, elsewhere, tmp_path / "scheduler.log") as scheduler:
        wait_for(lambda: scheduler_answers(f"tcp://127.0.0.1:{port}"), START_S,
                 "the Dask scheduler", process=scheduler, log=tmp_path / "scheduler.log")
        refused = run_client(localise(client, venv, port), elsewhere)
    assert refused.returncode == 2, refused.stderr[-3000:]
    assert "the Dask scheduler cannot load MyTrader's code" in refused.stderr
    assert "No module named 'bot'" in refused.stderr and "Traceback" not in refused.stderr


def scheduler_answers(address: str) -> bool:
    from distributed import Client

    try:
        with Client(address, timeout="5s"):
            return True
    except OSError:
        return False

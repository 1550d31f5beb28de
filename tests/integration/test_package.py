"""``pip install .`` gives a working ``mytrader``; the docs' Dask cluster recipe works as written.

One venv per module: MyTrader installed with pip (no dependencies: the running venv's packages
are reused) and used from an empty working folder, so only the installed copy can be imported.
The cluster recipe is read from ``docs/research.md`` and run line by line: a real
``dask scheduler`` and ``dask worker`` on a free loopback port, then the sweep. About 20 s of
CPU in all (the install ~3 s, each Dask process ~2 s to start); about a minute of wall time on
a loaded 2-core machine. Readiness is waited on (the port, then Dask's ``wait_for_workers``).
"""

from __future__ import annotations

import csv
import re
import shlex
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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


def test_the_package_requires_exactly_the_pins_of_requirements_txt(venv):
    pins = {line.split("#")[0].strip() for line in
            (REPO_ROOT / "requirements.txt").read_text().splitlines()} - {""}
    (metadata,) = venv.site_packages().glob("mytrader-*.dist-info/METADATA")
    required = {line.removeprefix("Requires-Dist: ").strip()
                for line in metadata.read_text().splitlines()
                if line.startswith("Requires-Dist: ")}
    assert required == pins and len(pins) > 10


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
def processes() -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Start processes with the returned function; all get SIGTERM together at the end (then
    SIGKILL after 30 s), so a cluster's stop costs one shutdown, not one per process."""
    started: list[subprocess.Popen[bytes]] = []

    def start(command: list[str], cwd: Path, log: Path, env: dict[str, str] | None = None
              ) -> subprocess.Popen[bytes]:
        with log.open("wb") as out:
            started.append(subprocess.Popen(command, cwd=cwd, env=env or clean_env(),
                                            stdout=out, stderr=subprocess.STDOUT))
        return started[-1]

    try:
        yield start
    finally:
        for process in started:
            process.terminate()
        for process in started:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def port_open(port: int) -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def wait_workers(port: int, count: int, process: subprocess.Popen[bytes], log: Path) -> None:
    """Until ``count`` workers joined: the port first (cheap), then Dask's own wait."""
    from distributed import Client

    wait_for(lambda: port_open(port), START_S, "the Dask scheduler's port", process=process,
             log=log)
    with Client(f"tcp://127.0.0.1:{port}", timeout=f"{START_S}s") as client:
        try:
            client.wait_for_workers(count, timeout=START_S)
        except TimeoutError:
            raise AssertionError(f"{count} Dask workers did not join within {START_S} s:\n"
                                 f"{log.read_text()[-3000:]}") from None


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
    with processes() as start:
        start(localise(scheduler, venv, port), elsewhere, tmp_path / "scheduler.log")
        workers = start(localise(worker, venv, port), elsewhere, tmp_path / "workers.log")
        wait_workers(port, nworkers, workers, tmp_path / "workers.log")

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
        start([str(old.bin("python")), "-m", "dask", "worker", address, "--nworkers", "1"],
              elsewhere, tmp_path / "other-worker.log", {**clean_env(), "PYTHONPATH": str(other)})
        wait_workers(port, nworkers + 1, workers, tmp_path / "workers.log")
        refused = run_client(localise(client, venv, port), elsewhere)
        assert refused.returncode == 2, refused.stderr[-3000:]
        assert "run other code than this client" in refused.stderr
        assert refused.stderr.count("(code ") == 2  # the odd worker alone, and this client
        assert "pip install ." in refused.stderr and "Traceback" not in refused.stderr


def test_a_scheduler_without_mytrader_is_refused_in_one_line(venv, elsewhere, tmp_path):
    """The README's old recipe failed here: a scheduler that cannot import ``bot``."""
    *_, client = recipe()
    bare = bare_venv(tmp_path / "bare")
    port = free_port()
    command = [str(bare.bin("python")), "-m", "dask", "scheduler", "--port", str(port)]
    with processes() as start:
        scheduler = start(command, elsewhere, tmp_path / "scheduler.log")
        wait_for(lambda: port_open(port), START_S, "the Dask scheduler's port",
                 process=scheduler, log=tmp_path / "scheduler.log")
        refused = run_client(localise(client, venv, port), elsewhere)
    assert refused.returncode == 2, refused.stderr[-3000:]
    assert "the Dask scheduler cannot load MyTrader's code" in refused.stderr
    assert "No module named 'bot'" in refused.stderr and "Traceback" not in refused.stderr


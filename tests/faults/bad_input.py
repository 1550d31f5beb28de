"""Bad-input fault scenarios against the real processes, each returning a ``FaultResult``.

Each scenario starts the real thing (``python -m bot run``, ``python -m bot backtest``, the
dashboard command from ``supervisord.conf``) in a scratch folder, injects one kind of bad input
and says whether the product survived it the documented way (DESIGN §4 rule 7):

- a bad config edit while the bot runs (``python -m bot config import``): refused with one line
  and exit 2, nothing stored, the bot keeps running on the active version;
- an unusable replay file: ``bot run`` and ``bot backtest`` both exit 2 with the same single
  stderr line; a file with rows out of time order is played sorted and reported by both;
- a dashboard off loopback without ``DASHBOARD_PASSWORD``: it refuses to start, never listens.

The tests in ``test_bad_input_faults.py`` assert on these results; a benchmark can call the same
functions and count the survivors.
"""

from __future__ import annotations

import configparser
import json
import os
import shlex
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import yaml

from shared.persistence import ops_store
from tests.integration.botproc import (
    REPO_ROOT,
    heartbeat,
    query,
    start_bot,
    stop_bot,
    wait_for,
    write_config,
)

BAR_ROWS = 40
REPLAY_START_MINUTE = 30  # 14:30 UTC on a Monday, inside the session
RUN_TIMEOUT_S = 90
START_MAX_CONTRACTS = 1  # not the default (2): a config reset to defaults would show

# The bad config edits a running bot must refuse (name -> file bytes).
BAD_CONFIG_EDITS: dict[str, bytes] = {
    "garbage_yaml": b"risk: [this is : not yaml\n",
    "empty": b"",
    "whitespace_only": b"  \n\t\n   \n",
    "binary": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe",
    # Numbers that pass "> 0" and then overflow the engine in a position (issue 19 item 3).
    "infinite_loss_limit": b"risk: {daily_loss_limit_usd: .inf}\n",
    "nan_risk_per_trade": b"risk: {risk_per_trade_usd: nan}\n",
    "huge_max_hold": b"risk: {max_hold_minutes: 1e308}\n",
    "oversize_file": b"risk: {max_contracts: 3}\n" + b"# padding\n" * 150_000,
}


@dataclass(frozen=True, slots=True)
class FaultResult:
    """One injected fault: its name, whether the product survived it, and what was seen."""

    fault: str
    survived: bool
    detail: str = ""


# ---------------------------------------------------------------- bar files


def good_rows(count: int = BAR_ROWS) -> list[str]:
    """``count`` one-minute bars on the 0.25 tick grid, in time order, without a header."""
    rows = []
    for index in range(count):
        minute = REPLAY_START_MINUTE + index
        price = 5000 + (index % 4) * 0.25
        rows.append(f"2025-03-03 {14 + minute // 60:02d}:{minute % 60:02d}:00,{price},"
                    f"{price + 0.5},{price - 0.5},{price},100")
    return rows


HEADER = "timestamp,open,high,low,close,volume"


def bar_file(folder: Path, kind: str) -> Path:
    """Write a replay file of one kind: binary, empty, wrong_columns, non_utf8, out_of_order."""
    path = folder / f"{kind}.csv"
    if kind == "binary":
        path.write_bytes(b"PAR1\x15\x04\x15\x80\x01\x00\xff\xfe" * 8)
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "wrong_columns":
        path.write_text("when,price\n2025-03-03 14:30:00,5000\n", encoding="utf-8")
    elif kind == "non_utf8":
        rows = [HEADER, *good_rows(3), "2025-03-03 14:33:00,5000,5001,4999,5000,1 \xe9t\xe9"]
        path.write_bytes("\n".join(rows).encode("latin-1"))
    elif kind == "out_of_order":
        rows = good_rows()
        rows[10], rows[11] = rows[11], rows[10]  # line 13 (14:40) comes after 14:41
        path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    else:
        raise ValueError(f"unknown bar file kind {kind!r}")
    return path


def replay_config(folder: Path, data: Path, max_bars: int | None = None) -> Path:
    """A config replaying ``data`` as fast as possible."""
    feed = {"source": "replay", "replay_path": str(data), "speed": 100000, "bar_seconds": 60}
    if max_bars is not None:
        feed["max_bars"] = max_bars
    return write_config(folder, f"replay-{data.stem}.yaml", {"feed": feed})


def _bot(*args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m bot ARGS`` to its exit; one still running after the deadline is killed
    and reported with exit code -1 (an idling bot is a failure, not a hang)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "bot", *args]
    try:
        return subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                              timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else ""
        return subprocess.CompletedProcess(command, -1, out, f"still running after "
                                           f"{RUN_TIMEOUT_S} s")


def run_replay(folder: Path, data: Path, max_bars: int | None = None
               ) -> subprocess.CompletedProcess[str]:
    """``python -m bot run`` on a replay of ``data`` until it exits."""
    config = replay_config(folder, data, max_bars)
    return _bot("run", "--config", str(config), "--db", str(folder / f"{data.stem}.db"))


def run_backtest(data: Path) -> subprocess.CompletedProcess[str]:
    """``python -m bot backtest --data FILE`` until it exits."""
    return _bot("backtest", "--data", str(data))


def unusable_replay_file(folder: Path, kind: str) -> FaultResult:
    """Both paths must exit 2 with one identical stderr line and no traceback."""
    data = bar_file(folder, kind)
    live, backtest = run_replay(folder, data), run_backtest(data)
    live_err, backtest_err = live.stderr.strip(), backtest.stderr.strip()
    survived = (
        live.returncode == 2 and backtest.returncode == 2
        and live_err == backtest_err and live_err.startswith(f"error: {data}")
        and "\n" not in live_err
        and "Traceback" not in live.stdout + live.stderr + backtest.stdout + backtest.stderr
    )
    detail = (f"run exit {live.returncode}: {live_err!r}; "
              f"backtest exit {backtest.returncode}: {backtest_err!r}")
    return FaultResult(f"replay_{kind}", survived, detail)


def out_of_order_replay_file(folder: Path) -> FaultResult:
    """Both paths play the file sorted and report the same out-of-order row by line."""
    data = bar_file(folder, "out_of_order")
    db = folder / f"{data.stem}.db"
    live, backtest = run_replay(folder, data, max_bars=BAR_ROWS), run_backtest(data)
    events = [e for e in query(db, ops_store.recent_events, 200) or []
              if e.kind == "bars_out_of_order"]
    state = heartbeat(db)
    processed = state.bars_processed if state is not None else None
    example = f"{data.name} line 13: timestamp 2025-03-03 14:40:00+00:00 is out of order"
    examples = [json.loads(e.detail_json).get("examples") or [""] for e in events]
    survived = (
        live.returncode == 0 and backtest.returncode == 0
        and processed == BAR_ROWS and len(events) == 1
        and events[0].message == "replay rows out of time order (played sorted): 1"
        and examples[0][0].startswith(example)
        and example in live.stdout and "out of time order (played sorted): 1" in live.stdout
        and example in backtest.stdout and "rows out of time order (sorted): 1" in backtest.stdout
        and "out of order (sorted) 1" in backtest.stdout
    )
    detail = (f"run exit {live.returncode}, bars {processed}, events "
              f"{[e.message for e in events]}; backtest exit {backtest.returncode}")
    return FaultResult("replay_out_of_order", survived, detail)


# ---------------------------------------------------------------- config edits


def _events(db: Path, kind: str) -> list[ops_store.EventRow]:
    return [e for e in query(db, ops_store.recent_events, 500) or [] if e.kind == kind]


def _active_max_contracts(db: Path) -> tuple[int, int] | None:
    active = query(db, ops_store.active_config_version)
    if active is None:
        return None
    risk = (yaml.safe_load(active.yaml) or {}).get("risk") or {}
    return active.version_id, int(risk.get("max_contracts", -1))


def bad_config_edits(folder: Path, edits: dict[str, bytes] | None = None) -> list[FaultResult]:
    """Start a bot with ``risk.max_contracts: 1``, then try each bad edit while it runs.

    The config's one source is the active version in the database; an edit reaches it through
    ``python -m bot config import FILE`` (the dashboard's save validates the same way). An edit
    survives when the import exits 2 with one line and stores nothing, a hand edit of the
    exported file changes nothing by itself, and the bot still runs with the same version.
    """
    edits = BAD_CONFIG_EDITS if edits is None else edits
    feed = {"source": "synthetic", "seed": 7, "start": "2025-03-03T14:30:00Z", "speed": 50}
    config = write_config(folder, "config.yaml", {
        "feed": feed, "risk": {"max_contracts": START_MAX_CONTRACTS},
        "engine": {"heartbeat_seconds": 0.2},
    })
    db, log = folder / "trader.db", folder / "bot.log"
    process = start_bot(config, db, log)
    results = []
    try:
        first = wait_for(lambda: heartbeat(db), 60, "the first heartbeat", process, log)
        before = _active_max_contracts(db)
        for name, content in edits.items():
            config.write_bytes(content)  # a hand edit of the exported file: not a source
            done = _bot("config", "import", str(config), "--db", str(db))
            beat = wait_for(lambda: (h := heartbeat(db)) and h.heartbeat_at
                            > first.heartbeat_at and h, 30, "a later heartbeat", process, log)
            err = done.stderr.strip()
            survived = (
                done.returncode == 2 and "\n" not in err and err.startswith("error: ")
                and "Traceback" not in done.stderr
                and process.poll() is None and _active_max_contracts(db) == before
                and before is not None and before[1] == START_MAX_CONTRACTS
                and beat.config_version == first.config_version
                and beat.status == "running"
            )
            results.append(FaultResult(f"config_{name}", survived, err))
    finally:
        if process.poll() is None:
            stop_bot(process)
    return results


# ---------------------------------------------------------------- dashboard


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def dashboard_command(address: str) -> list[str]:
    """The ``dashboard`` program's command from supervisord.conf, bound to ``address``."""
    parser = configparser.RawConfigParser()
    parser.read(REPO_ROOT / "supervisord.conf")
    command = parser.get("program:dashboard", "command").replace("%(here)s", str(REPO_ROOT))
    args = [a for a in shlex.split(command) if not a.startswith("--server.address")]
    return [*args, f"--server.address={address}"]


def _dashboard_env(port: int, password: str | None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if key not in ("DASHBOARD_PASSWORD", "STREAMLIT_SERVER_ADDRESS")}
    env.update(STREAMLIT_SERVER_PORT=str(port), PYTHONUNBUFFERED="1")
    if password is not None:
        env["DASHBOARD_PASSWORD"] = password
    return env


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def dashboard_without_password(address: str, timeout_s: float = 60) -> FaultResult:
    """The real dashboard command off loopback, no password: exit 2, one line, never listens."""
    port = free_port()
    process = subprocess.Popen(dashboard_command(address), cwd=REPO_ROOT,
                               env=_dashboard_env(port, None), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    listened = False
    deadline = time.monotonic() + timeout_s
    while process.poll() is None and time.monotonic() < deadline:
        listened = listened or _listening(port)
        time.sleep(0.05)
    if process.poll() is None:
        process.kill()
    out, err = process.communicate(timeout=10)
    listened = listened or _listening(port)
    err = err.strip()
    survived = (process.returncode == 2 and not listened and "\n" not in err
                and err.startswith("error: refusing to start the dashboard")
                and "DASHBOARD_PASSWORD" in err)
    name = f"dashboard_{address or 'empty_address'}_no_password"
    return FaultResult(name, survived, f"exit {process.returncode}, listened {listened}: {err}")


def dashboard_with_password(address: str, timeout_s: float = 60) -> FaultResult:
    """With a password the same command serves (health ok, the app page loads)."""
    port = free_port()
    log_lines: list[str] = []
    process = subprocess.Popen(dashboard_command(address), cwd=REPO_ROOT,
                               env=_dashboard_env(port, "s3cret"), stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"

    def fetch(path: str) -> bytes | None:
        try:
            return urllib.request.urlopen(url + path, timeout=1).read()
        except OSError:
            return None

    try:
        deadline = time.monotonic() + timeout_s
        health = None
        while process.poll() is None and time.monotonic() < deadline and health != b"ok":
            health = fetch("/_stcore/health")
            time.sleep(0.1)
        page = fetch("/") if health == b"ok" else None
    finally:
        process.terminate()
        out, _ = process.communicate(timeout=20)
        log_lines = out.splitlines()
    survived = health == b"ok" and page is not None and b"<div id=\"root\">" in page
    return FaultResult(f"dashboard_{address}_with_password", survived,
                       f"health {health!r}; log tail {log_lines[-3:]}")

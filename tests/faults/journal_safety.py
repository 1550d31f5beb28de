"""Journal-safety fault scenarios against real ``python -m bot`` processes (issue 19, rule 12).

Each driver returns a ``FaultResult`` (``tests/faults/scenarios.py``) with one more figure in
``detail["wrong_pnl"]``: trades whose gross P&L disagrees with their prices. Covered: two bots
started together on one journal (exactly one runs; kill -9 frees the lock), a journal with
damaged pages, a schema from newer code, the database deleted or replaced under a running bot,
``python -m bot backup`` while the bot writes, SIGHUP and a storm of SIGINTs, and a process
frozen by SIGSTOP in real-time mode (the backlog must hold entries). Tests and the benchmark
call the same drivers.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from shared.domain.instruments import get_instrument
from shared.persistence import journal_store, ops_store
from shared.persistence.db import connect
from shared.persistence.lock_file import lock_path, parse_holder
from shared.persistence.ops_store import EventRow
from tests.faults.scenarios import (
    FEED,
    SIGTERM_LIMIT_S,
    STARTUP_S,
    FaultResult,
    _reap,
    _result,
    check_journal,
    decision_count,
)
from tests.integration.botproc import REPO_ROOT, heartbeat, query, start_bot, wait_for, write_config

REFUSE_LIMIT_S = 5.0  # issue 19: the second bot exits 2 within 5 s
IN_USE_LINE = re.compile(r"^error: journal (?P<db>.+) is in use by another bot \(pid (?P<pid>\d+) "
                         r"on host (?P<host>\S+), since .+\): refusing to start a second writer")
FILE_FAULT_LINE = re.compile(r"^error: journal file (?P<cause>.+) at (?P<db>.+?): stopping new "
                             r"entries; .+; exit 3$")
ALL_ROWS = 1_000_000
RESCUED = re.compile(r"its last state is saved in (?P<path>\S+) \(move it back to resume\)")


# --- shared checks ---------------------------------------------------------------------------


def wrong_pnl(db: Path) -> int:
    """Trades whose gross P&L is not (exit - entry) x side x contracts x point value."""
    trades = query(db, journal_store.all_trades) or []
    wrong = 0
    for trade in trades:
        point_usd = get_instrument(trade.symbol).point_value_usd
        expected = round((trade.exit_price - trade.entry_price) * trade.side.sign
                         * trade.contracts * point_usd * 100)
        wrong += trade.pnl_gross_cents != expected
    return wrong


def finish(fault: str, db: Path, problems: list[str], codes: list[int],
           first_decision_s: list[float] | None = None, **detail: Any) -> FaultResult:
    """The ``FaultResult`` of a scenario, with the wrong-P&L count checked too."""
    bad_pnl = wrong_pnl(db) if db.exists() else 0
    if bad_pnl:
        problems.append(f"{bad_pnl} trades with a P&L that disagrees with their prices")
    return _result(fault, check_journal(db), problems, codes, first_decision_s or [],
                   wrong_pnl=bad_pnl, **detail)


def one_line(stderr: str, pattern: re.Pattern[str], what: str) -> tuple[re.Match[str] | None,
                                                                          list[str]]:
    """The single stderr line matching ``pattern``, else problems saying what was printed."""
    lines = stderr.splitlines()
    match = pattern.match(lines[0]) if len(lines) == 1 else None
    problems = [] if match else [f"{what}: stderr is not the one expected line: {stderr!r}"]
    if "Traceback" in stderr:
        problems.append(f"{what}: a traceback on stderr")
    return match, problems


def run_to_exit(command: list[str], timeout_s: float = 90.0) -> subprocess.CompletedProcess[str]:
    """Run a ``python -m bot`` command to its end (stdout is the log, stderr the one line)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run([sys.executable, "-m", "bot", *command], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout_s, check=False)


def make_journal(work: Path, name: str, bars: int = 400) -> tuple[Path, Path]:
    """A journal with ``bars`` decisions (and trades) from a bot run to ``feed.max_bars``."""
    config = write_config(work, f"{name}.yaml", {"feed": {**FEED, "speed": 1_000_000,
                                                          "max_bars": bars}})
    db = work / f"{name}.db"
    done = run_to_exit(["run", "--config", str(config), "--db", str(db)])
    if done.returncode != 0:
        raise RuntimeError(f"making the journal failed ({done.returncode}): {done.stderr}")
    return config, db


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- one writer per journal ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Pair:
    winner: subprocess.Popen[bytes]
    winner_log: Path
    loser: subprocess.Popen[bytes]
    loser_err: Path
    loser_exit_s: float  # after the winner's lock appeared


def _start_two(config: Path, db: Path, work: Path) -> _Pair:
    """Start two bots on ``db`` at once; wait for one to hold the lock and the other to exit."""
    bots = [start_bot(config, db, work / f"bot{i}.log", stderr_log=work / f"bot{i}.err")
            for i in range(2)]
    holder = wait_for(lambda: _holder_pid(db), STARTUP_S, "a bot holding the journal lock")
    locked_at = time.monotonic()
    winner = next((b for b in bots if b.pid == holder), None)
    if winner is None:
        for bot in bots:
            _reap(bot)
        raise AssertionError(f"the lock names pid {holder}, neither bot: "
                             f"{[b.pid for b in bots]}")
    loser = bots[1] if winner is bots[0] else bots[0]
    with contextlib.suppress(subprocess.TimeoutExpired):
        loser.wait(timeout=3 * REFUSE_LIMIT_S)
    won, lost = bots.index(winner), bots.index(loser)
    return _Pair(winner, work / f"bot{won}.log", loser, work / f"bot{lost}.err",
                 time.monotonic() - locked_at)


def _holder_pid(db: Path) -> int | None:
    try:
        holder = parse_holder(lock_path(db).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    return holder.pid if holder else None


def two_bots_one_journal(work: Path) -> FaultResult:
    """Two bots started together on one database: one runs, the other exits 2 within 5 s with
    one line naming the holder's pid and host; after kill -9 of the holder a new bot starts."""
    config = write_config(work, "two_bots.yaml", {"feed": {**FEED, "speed": 400}})
    db = work / "two_bots.db"
    problems: list[str] = []
    codes: list[int] = []
    first_decision_s: list[float] = []
    pair = _start_two(config, db, work)
    restarted = None
    try:
        code = pair.loser.poll()
        if code is None:
            problems.append(f"the second bot still runs {pair.loser_exit_s:.1f} s after the lock")
        else:
            codes.append(code)
            if code != 2 or pair.loser_exit_s > REFUSE_LIMIT_S:
                problems.append(f"second bot: exit {code} {pair.loser_exit_s:.2f} s after the lock")
            match, bad = one_line(pair.loser_err.read_text(), IN_USE_LINE, "second bot")
            problems += bad
            if match and (int(match["pid"]) != pair.winner.pid
                          or match["host"] != os.uname().nodename):
                problems.append(f"the refusal names pid {match['pid']} on {match['host']}, "
                                f"not the holder {pair.winner.pid}")
        wait_for(lambda: decision_count(db) >= 30, STARTUP_S, "the running bot's decisions",
                 pair.winner, pair.winner_log)
        pair.winner.kill()  # kill -9: the OS drops its lock
        codes.append(pair.winner.wait(timeout=30))
        before = decision_count(db)
        started = time.monotonic()
        restarted = start_bot(config, db, work / "restart.log", stderr_log=work / "restart.err")
        wait_for(lambda: decision_count(db) > before, STARTUP_S, "a decision after kill -9",
                 restarted, work / "restart.log")
        first_decision_s.append(time.monotonic() - started)
        if _holder_pid(db) != restarted.pid:
            problems.append(f"the lock file names {_holder_pid(db)}, not {restarted.pid}")
        restarted.terminate()
        codes.append(restarted.wait(timeout=3 * SIGTERM_LIMIT_S))
    finally:
        for process in (pair.winner, pair.loser, restarted):
            _reap(process)
    return finish("two_bots_one_journal", db, problems, codes, first_decision_s,
                  refused_after_s=round(pair.loser_exit_s, 3))


# --- a damaged journal, a newer schema -------------------------------------------------------


def damage_pages(db: Path, pages: int = 4) -> list[int]:
    """Overwrite the b-tree header of ``pages`` pages spread over the file; return their numbers.

    The page type byte becomes 0 (no such type), so SQLite's checks cannot miss it.
    """
    data = bytearray(db.read_bytes())
    page_size = int.from_bytes(data[16:18], "big") or 65536
    btree = [n for n in range(2, len(data) // page_size + 1)
             if data[(n - 1) * page_size] in (2, 5, 10, 13)]
    if len(btree) < pages:
        raise RuntimeError(f"only {len(btree)} b-tree pages in {db}")
    chosen = [btree[i * len(btree) // pages] for i in range(pages)]
    for number in chosen:
        offset = (number - 1) * page_size
        data[offset:offset + 8] = b"\x00" * 8
    db.write_bytes(bytes(data))
    return chosen


def damaged_journal(work: Path) -> FaultResult:
    """A journal with 4 damaged pages: the bot refuses it (exit 3, one line) and writes nothing."""
    config, db = make_journal(work, "damaged")
    pages = damage_pages(db)
    before = sha256(db)
    run = run_to_exit(["run", "--config", str(config), "--db", str(db)])
    problems = []
    if run.returncode != 3:
        problems.append(f"exit {run.returncode}, expected 3")
    lines = run.stderr.splitlines()
    if len(lines) != 1 or not lines[0].startswith(f"error: journal integrity check failed at "
                                                  f"{db}: ") or not lines[0].endswith("exit 3"):
        problems.append(f"stderr is not the one integrity line: {run.stderr!r}")
    if "Traceback" in run.stderr + run.stdout:
        problems.append("a traceback in the output")
    if sha256(db) != before:
        problems.append("the damaged file was written to")
    return FaultResult("damaged_journal", not problems, 0, 0, 0, None, (run.returncode,),
                       tuple(problems), {"pages": pages, "stderr": run.stderr, "wrong_pnl": 0})


def newer_schema(work: Path) -> FaultResult:
    """A database whose ``user_version`` is above the code's: exit 2 with one line."""
    config, db = make_journal(work, "newer", bars=50)
    conn = sqlite3.connect(db)
    try:
        conn.execute("PRAGMA user_version = 999")
    finally:
        conn.close()
    run = run_to_exit(["run", "--config", str(config), "--db", str(db)])
    problems = []
    if run.returncode != 2:
        problems.append(f"exit {run.returncode}, expected 2")
    lines = run.stderr.splitlines()
    if len(lines) != 1 or "schema version 999" not in lines[0] or "newer than this code" not in (
            lines[0]):
        problems.append(f"stderr is not the one schema line: {run.stderr!r}")
    if "Traceback" in run.stderr + run.stdout:
        problems.append("a traceback in the output")
    return finish("newer_schema", db, problems, [run.returncode], stderr=run.stderr)


# --- the database deleted or replaced while the bot runs ------------------------------------


def _replace_with_copy(db: Path, work: Path) -> None:
    """The operator's mistake: an older copy moved over the live file (another inode)."""
    copy = work / "older.db"
    shutil.copyfile(db, copy)  # the main file only: a stale, WAL-less copy
    os.replace(copy, db)


def journal_file_gone(work: Path, how: str = "deleted") -> FaultResult:
    """Delete the database (``how``: "deleted"), its WAL ("wal_deleted") or move an older copy
    over it ("replaced") under a running bot: it must stop with exit 3 and one
    line naming a rescue copy that holds every decision the bot had made, and a bot restarted
    on the rescue copy moved back must carry on from it."""
    config = write_config(work, f"{how}.yaml", {"feed": {**FEED, "speed": 200}})
    db, log, err = work / f"{how}.db", work / f"{how}.log", work / f"{how}.err"
    problems: list[str] = []
    codes: list[int] = []
    first_decision_s: list[float] = []
    process = start_bot(config, db, log, stderr_log=err)
    restarted = None
    try:
        wait_for(lambda: decision_count(db) >= 40, STARTUP_S, "40 decisions", process, log)
        seen = decision_count(db)
        if how == "deleted":
            db.unlink()
        elif how == "wal_deleted":  # then a dashboard's write would go to a WAL the bot never reads
            db.with_name(db.name + "-wal").unlink()
        else:
            _replace_with_copy(db, work)
        gone_at = time.monotonic()
        try:
            code = process.wait(timeout=3 * SIGTERM_LIMIT_S)
        except subprocess.TimeoutExpired:
            code = None
        exit_s = time.monotonic() - gone_at
        if code is None:
            return finish(f"db_{how}", db if db.exists() else work / "none.db",
                          [f"still running {exit_s:.1f} s after the file was {how}"], [])
        codes.append(code)
        if code != 3:
            problems.append(f"exit {code}, expected 3")
        match, bad = one_line(err.read_text(), FILE_FAULT_LINE, f"db {how}")
        problems += bad
        rescued = RESCUED.search(match["cause"]) if match else None
        if rescued is None:
            problems.append(f"the fault line names no rescue copy: {err.read_text()!r}")
            return finish(f"db_{how}", db, problems, codes)
        rescue = Path(rescued["path"])
        kept = decision_count(rescue)
        if kept < seen:
            problems.append(f"the rescue copy holds {kept} decisions, {seen} were journaled")
        os.replace(rescue, db)
        for suffix in ("-wal", "-shm"):
            db.with_name(db.name + suffix).unlink(missing_ok=True)
        started = time.monotonic()
        restarted = start_bot(config, db, work / "restart.log")
        wait_for(lambda: decision_count(db) > kept, STARTUP_S, "a decision after the rescue",
                 restarted, work / "restart.log")
        first_decision_s.append(time.monotonic() - started)
        restarted.terminate()
        codes.append(restarted.wait(timeout=3 * SIGTERM_LIMIT_S))
    finally:
        _reap(process)
        _reap(restarted)
    return finish(f"db_{how}", db, problems, codes, first_decision_s,
                  exit_after_s=round(exit_s, 3), decisions_seen=seen, decisions_rescued=kept)


# --- backup while the bot runs ---------------------------------------------------------------


def _dump(db: Path) -> list[str]:
    conn = connect(db, readonly=True)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def _decisions(db: Path) -> list[tuple[Any, ...]]:
    """Every decision's id, bar time, verdict and action, oldest first."""
    rows = query(db, journal_store.recent_decisions, ALL_ROWS) or []
    return [(r["id"], r["ts"], r["verdict"], r["action_taken"]) for r in reversed(rows)]


def backup_while_running(work: Path, copies: int = 2) -> FaultResult:
    """``python -m bot backup`` while the bot trades: each copy is sound and a prefix of the
    journal; after the stop a backup restored in place of the original equals it row for row."""
    config = write_config(work, "backup.yaml", {"feed": {**FEED, "speed": 1000}})
    db, log = work / "backup.db", work / "backup.log"
    problems: list[str] = []
    codes: list[int] = []
    outs = []
    process = start_bot(config, db, log)
    try:
        for index in range(copies):
            wait_for(lambda i=index: decision_count(db) >= 60 * (i + 1), STARTUP_S,
                     "decisions to back up", process, log)
            out = work / f"copy{index}.db"
            done = run_to_exit(["backup", "--db", str(db), "--out", str(out)])
            codes.append(done.returncode)
            if done.returncode != 0:
                problems.append(f"backup {index} while running: exit {done.returncode} "
                                f"{done.stderr!r}")
            else:
                outs.append(out)
        process.terminate()
        codes.append(process.wait(timeout=3 * SIGTERM_LIMIT_S))
    finally:
        _reap(process)
    final = _decisions(db)
    for out in outs:
        check = check_journal(out)
        if check.broken():
            problems.append(f"{out.name}: journal invariants broken: {check.broken()}")
        copied = _decisions(out)
        if not copied or copied != final[:len(copied)]:
            problems.append(f"{out.name}: its {len(copied)} decisions are not a prefix of the "
                            "journal's")
    restored = work / "restored.db"
    done = run_to_exit(["backup", "--db", str(db), "--out", str(work / "final.db")])
    codes.append(done.returncode)
    if done.returncode == 0:
        shutil.copyfile(work / "final.db", restored)  # a restore: the copy put in place
        if _dump(restored) != _dump(db):
            problems.append("a restored backup differs from the original")
    else:
        problems.append(f"backup after the stop: exit {done.returncode} {done.stderr!r}")
    return finish("backup_while_running", db, problems, codes, copies=len(outs),
                  decisions=len(final))


# --- signals ---------------------------------------------------------------------------------


def stop_signal(work: Path, how: str) -> FaultResult:
    """``sighup``: one SIGHUP; ``sigint_storm``: SIGINT every 20 ms until the bot exits.

    Either way: exit 0 within 5 s, no traceback, a "stopped" heartbeat from the bot's pid.
    """
    config = write_config(work, f"{how}.yaml", {"feed": {**FEED, "speed": 5000}})
    db, log = work / f"{how}.db", work / f"{how}.log"
    problems: list[str] = []
    process = start_bot(config, db, log)
    try:
        wait_for(lambda: decision_count(db) >= 100, STARTUP_S, "100 decisions", process, log)
        sent = 0
        started = time.monotonic()
        signum = signal.SIGHUP if how == "sighup" else signal.SIGINT
        while process.poll() is None and time.monotonic() - started < 3 * SIGTERM_LIMIT_S:
            if sent == 0 or how == "sigint_storm":
                process.send_signal(signum)
                sent += 1
            time.sleep(0.02)  # the storm's pace, not a readiness wait
        stop_s = time.monotonic() - started
        code = process.poll()
    finally:
        _reap(process)
    if code != 0 or stop_s > SIGTERM_LIMIT_S:
        problems.append(f"exit {code} after {stop_s:.2f} s and {sent} signals")
    text = log.read_text()
    if "Traceback" in text or "KeyboardInterrupt" in text:
        problems.append("a traceback in the output")
    state = heartbeat(db)
    if state is None or state.status != "stopped" or state.pid != process.pid:
        problems.append(f"last heartbeat {state.status if state else None!r}, not 'stopped'")
    return finish(how, db, problems, [] if code is None else [code], signals_sent=sent,
                  stop_seconds=round(stop_s, 3))


# The bot holds entries on bars processed more than HOLD_S after their close (the product's
# default is 10 s; a shorter threshold keeps the freeze short), and the freeze outlasts it.
FROZEN_HOLD_S = 3.0
FROZEN_FREEZE_S = 5.0


def frozen_then_backlog(work: Path, hold_s: float = FROZEN_HOLD_S,
                        freeze_s: float = FROZEN_FREEZE_S) -> FaultResult:
    """SIGSTOP a real-time bot (1-second bars, ``engine.catch_up_hold_after_s`` = ``hold_s``)
    for ``freeze_s`` (longer than ``hold_s``), then SIGCONT: the backlog must journal a
    ``catch_up`` warning, enter nothing until a ``caught_up`` event, and go on."""
    config = write_config(work, "frozen.yaml", {"feed": {
        "source": "synthetic", "seed": 7, "speed": 1.0, "bar_seconds": 1,
        "warm_start_minutes": 2}, "engine": {"catch_up_hold_after_s": hold_s}})
    db, log = work / "frozen.db", work / "frozen.log"
    problems: list[str] = []
    process = start_bot(config, db, log)
    try:
        wait_for(lambda: decision_count(db) >= 3, STARTUP_S, "real-time decisions", process, log)
        process.send_signal(signal.SIGSTOP)
        time.sleep(freeze_s)  # the freeze itself is the fault, not a readiness wait
        process.send_signal(signal.SIGCONT)
        events = wait_for(lambda: _events(db, "caught_up"), STARTUP_S, "a caught_up event",
                          process, log)
        process.terminate()
        code = process.wait(timeout=3 * SIGTERM_LIMIT_S)
    finally:
        _reap(process)
    held = _events(db, "catch_up")
    if not held:
        problems.append("no catch_up event after the freeze")
        return finish("sigstop_backlog", db, problems, [code])
    hold_ts, release_ts = held[0].ts.isoformat(), events[0].ts.isoformat()
    in_burst = [d for d in _decisions(db) if hold_ts <= _iso(d[1]) < release_ts]
    entered = [d for d in in_burst if d[2] == "enter"]
    if entered:
        problems.append(f"{len(entered)} entries during the catch-up: {entered[:3]}")
    if code != 0:
        problems.append(f"exit {code} after SIGTERM")
    return finish("sigstop_backlog", db, problems, [code],
                  lag_s=json.loads(held[0].detail_json).get("lag_s"),
                  held_bars=json.loads(events[0].detail_json).get("bars"),
                  decisions_in_burst=len(in_burst))


def _iso(text: str) -> str:
    return datetime.fromisoformat(text).isoformat()


def _events(db: Path, kind: str) -> list[EventRow]:
    """The journal's events of ``kind``, oldest first."""
    rows = query(db, ops_store.recent_events, ALL_ROWS) or []
    return [e for e in reversed(rows) if e.kind == kind]

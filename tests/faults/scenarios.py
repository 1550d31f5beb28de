"""Fault scenarios against a real ``python -m bot run`` process, reusable by benchmarks.

Each driver starts the bot with a config and a database in a work folder, injects one fault
(SIGTERM at high feed speed, kill -9 in a position, a full disk, a lock held past the busy
timeout), checks the journal's invariants (``journal_store.journal_integrity``) and returns
a ``FaultResult``. The tests in this folder call the drivers and assert on the result; a benchmark
can call them and print the figures. A driver never leaves a bot process it started running.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import random
import re
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.runtime.faults import EXIT_JOURNAL_FAULT, EXIT_OK
from shared.domain.models import OrderRole, Position
from shared.persistence import journal_store
from shared.persistence.db import connect, write_transaction
from shared.persistence.ops_store import Heartbeat
from tests.integration.botproc import heartbeat, query, start_bot, wait_for, write_config

logger = logging.getLogger(__name__)

FEED = {"source": "synthetic", "seed": 7, "start": "2025-03-03T14:30:00Z"}
# Wide bracket, no trailing stop, long hold: a position stays open for seconds at speed 400.
LONG_HOLD_RISK = {"max_hold_minutes": 600, "trailing_stop_enabled": False,
                  "min_stop_points": 20, "reward_risk_ratio": 3}
SIGTERM_LIMIT_S = 5.0  # DESIGN §4 rule 11: "within a few seconds"; the issue says 5
FAULT_LINE = re.compile(r"^error: journal write failed \((?P<cause>.+)\) at (?P<path>.+?): "
                        r"stopping new entries; .+; exit 3$")
STARTUP_S = 60.0  # generous: two cores shared by several test runs


@dataclass(frozen=True, slots=True)
class JournalCheck:
    """A journal's invariant counts at one moment (``journal_store.journal_integrity``)."""

    counts: dict[str, int]

    @property
    def decisions(self) -> int:
        return self.counts["decisions"]

    @property
    def rows_lost(self) -> int:
        """Rows whose partner row is missing: a fill without its order, a trade without fills."""
        return self.counts["fills_without_order"] + self.counts["trades_without_fills"]

    @property
    def duplicate_orders(self) -> int:
        """Entries placed twice, orders filled twice, more than one working stop or target."""
        return (self.counts["duplicate_entries"] + self.counts["overfilled_orders"]
                + self.counts["extra_working_exits"])

    @property
    def naked_positions(self) -> int:
        return self.counts["naked_positions"]

    def broken(self) -> dict[str, int]:
        """Every non-zero invariant count (empty when the journal is healthy)."""
        return {k: v for k, v in self.counts.items() if k != "decisions" and v}


@dataclass(frozen=True, slots=True)
class FaultResult:
    """What one scenario found; ``survived`` is True when ``problems`` is empty."""

    fault: str
    survived: bool
    rows_lost: int
    duplicate_orders: int
    naked_positions: int
    restart_to_first_decision_s: float | None
    exit_codes: tuple[int, ...] = ()
    problems: tuple[str, ...] = ()
    detail: dict[str, Any] = field(default_factory=dict)


class TmpfsUnavailable(RuntimeError):
    """A small tmpfs cannot be mounted here (not root, or no mount permission)."""


def check_journal(db: Path) -> JournalCheck:
    """The journal's invariant counts, read on a short-lived read-only connection."""
    counts = query(db, journal_store.journal_integrity)
    if counts is None:
        raise RuntimeError(f"no journal at {db}")
    return JournalCheck(counts)


def decision_count(db: Path) -> int:
    counts = query(db, journal_store.table_counts, ["decisions"])
    return counts["decisions"] if counts else 0


def _result(
    fault: str, check: JournalCheck, problems: list[str], codes: list[int],
    first_decision_s: list[float], lost_decisions: int = 0, **detail: Any,
) -> FaultResult:
    if check.broken():
        problems.append(f"journal invariants broken: {check.broken()}")
    if lost_decisions:
        problems.append(f"{lost_decisions} decisions vanished across a restart")
    return FaultResult(
        fault=fault, survived=not problems, rows_lost=check.rows_lost + lost_decisions,
        duplicate_orders=check.duplicate_orders, naked_positions=check.naked_positions,
        restart_to_first_decision_s=max(first_decision_s) if first_decision_s else None,
        exit_codes=tuple(codes), problems=tuple(problems),
        detail={"journal": check.counts, "first_decision_s": first_decision_s, **detail},
    )


def _reap(process: subprocess.Popen[bytes] | None) -> None:
    """kill -9 a bot this module started, if it is still running (cleanup after a failure)."""
    if process is not None and process.poll() is None:
        process.kill()
        process.wait(timeout=30)


def _time_to_first_decision(
    db: Path, before: int, started_s: float, process: subprocess.Popen[bytes], log: Path,
) -> float:
    """Seconds from ``started_s`` until the bot journals a decision beyond ``before``."""
    wait_for(lambda: decision_count(db) > before, STARTUP_S, "a first decision after start",
             process, log)
    return time.monotonic() - started_s


def _sigterm(process: subprocess.Popen[bytes], limit_s: float) -> tuple[int | None, float]:
    """SIGTERM and wait up to three times ``limit_s``; (None, waited) if it did not exit."""
    started = time.monotonic()
    process.terminate()
    try:
        code = process.wait(timeout=3 * limit_s)
    except subprocess.TimeoutExpired:
        return None, time.monotonic() - started
    return code, time.monotonic() - started


# --- SIGTERM at high feed speed -------------------------------------------------------------


def sigterm_at_speed(
    work: Path, speed: float, rounds: int = 3, bars_before_stop: int = 200,
    limit_s: float = SIGTERM_LIMIT_S,
) -> FaultResult:
    """Run, let the loop fall behind, SIGTERM; ``rounds`` times on one journal.

    Each round must exit 0 within ``limit_s`` and leave a "stopped" heartbeat with its pid.
    """
    fault = f"sigterm_speed_{speed:g}"
    config = write_config(work, f"{fault}.yaml", {"feed": {**FEED, "speed": speed}})
    db, log = work / f"{fault}.db", work / f"{fault}.log"
    problems: list[str] = []
    codes: list[int] = []
    stop_s: list[float] = []
    first_decision_s: list[float] = []
    process = None
    try:
        for round_no in range(rounds):
            before = decision_count(db)
            started = time.monotonic()
            process = start_bot(config, db, log)
            first_decision_s.append(_time_to_first_decision(db, before, started, process, log))
            wait_for(lambda b=before: decision_count(db) >= b + bars_before_stop, STARTUP_S,
                     f"{bars_before_stop} decisions", process, log)
            code, seconds = _sigterm(process, limit_s)
            stop_s.append(round(seconds, 3))
            if code is None:
                problems.append(f"round {round_no}: still running {seconds:.1f} s after SIGTERM")
                break
            codes.append(code)
            if code != EXIT_OK or seconds > limit_s:
                problems.append(f"round {round_no}: exit {code} after {seconds:.2f} s")
            state = heartbeat(db)
            if state is None or state.status != "stopped" or state.pid != process.pid:
                status, pid = (state.status, state.pid) if state else (None, None)
                problems.append(f"round {round_no}: last heartbeat {status!r} from pid {pid}, "
                                f"not 'stopped' from {process.pid}")
    finally:
        _reap(process)
    return _result(fault, check_journal(db), problems, codes, first_decision_s,
                   stop_seconds=stop_s)


# --- kill -9 in a position ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Killed:
    """The journal right after a kill -9: the open position and its bracket's order ids."""

    position: Position | None
    order_ids: frozenset[tuple[str, OrderRole]]
    decisions: int


def _open_position(db: Path) -> Position | None:
    return query(db, journal_store.load_position, "MES")


def _bracket_orders(db: Path, bracket_id: str) -> frozenset[tuple[str, OrderRole]]:
    orders = query(db, journal_store.all_orders) or []
    return frozenset((o.order_id, o.role) for o in orders if o.bracket_id == bracket_id)


def _restored_beat(db: Path, pid: int) -> dict[str, Any] | None:
    """The restarted bot's first heartbeat, written after restore and before any bar."""
    state = heartbeat(db)
    return state if state and state.pid == pid else None


def _check_restore(killed: _Killed, beat: Heartbeat, db: Path) -> list[str]:
    """The restarted bot holds the killed position, and the bracket's fate is journaled."""
    problems = []
    position = killed.position
    if beat.bars_processed != 0:
        return ["missed the restarted bot's first heartbeat (it had processed bars)"]
    held = (beat.position_side, beat.position_contracts, beat.position_entry_price)
    expected = ((position.side.value, position.contracts, position.entry_price)
                if position else (None, 0, None))
    if held != expected:
        problems.append(f"restored position {held}, journaled before the kill {expected}")
    if position is not None:
        now_open = _open_position(db)
        closed = {t.bracket_id for t in query(db, journal_store.all_trades) or []}
        if not (now_open and now_open.bracket_id == position.bracket_id) and (
                position.bracket_id not in closed):
            problems.append(f"bracket {position.bracket_id} is neither open nor a trade")
    return problems


def kill9_in_position(
    work: Path, kills: int = 3, seed: int = 11, max_delay_s: float = 1.0, speed: float = 400,
) -> FaultResult:
    """kill -9 the paper bot ``kills`` times, each at a seeded random moment in a position.

    After each kill the journal must hold the position with a working stop and target, the
    restarted bot must restore exactly that position before its first bar, its bracket must
    get no new entry, stop or target order, and the journal's invariants must hold throughout.
    """
    fault = "kill9_in_position"
    rng = random.Random(seed)
    config = write_config(work, f"{fault}.yaml",
                          {"feed": {**FEED, "speed": speed}, "risk": LONG_HOLD_RISK})
    db, log = work / f"{fault}.db", work / f"{fault}.log"
    problems: list[str] = []
    codes: list[int] = []
    first_decision_s: list[float] = []
    killed_brackets: dict[str, frozenset[tuple[str, OrderRole]]] = {}
    lost_decisions = in_position = 0
    process = start_bot(config, db, log)
    try:
        for kill_no in range(kills):
            wait_for(lambda: _open_position(db), STARTUP_S, "an open position", process, log)
            time.sleep(rng.uniform(0.0, max_delay_s))  # the fault's moment, not a readiness wait
            process.kill()
            codes.append(process.wait(timeout=30))
            position = _open_position(db)
            orders = _bracket_orders(db, position.bracket_id) if position else frozenset()
            killed = _Killed(position, orders, decision_count(db))
            if position is not None:
                in_position += 1
                killed_brackets[position.bracket_id] = orders
                roles = {role for _, role in orders}
                if not {OrderRole.STOP, OrderRole.TARGET} <= roles:
                    problems.append(f"kill {kill_no}: bracket journaled with {sorted(roles)}")
            started = time.monotonic()
            process = start_bot(config, db, log)
            beat = wait_for(lambda p=process.pid: _restored_beat(db, p), STARTUP_S,
                            "the restarted bot's heartbeat", process, log)
            problems += [f"kill {kill_no}: {p}" for p in _check_restore(killed, beat, db)]
            first_decision_s.append(
                _time_to_first_decision(db, killed.decisions, started, process, log))
            lost_decisions += max(0, killed.decisions - decision_count(db))
        code, seconds = _sigterm(process, SIGTERM_LIMIT_S)
        codes.append(-1 if code is None else code)
        if code != EXIT_OK:
            problems.append(f"final SIGTERM: exit {code} after {seconds:.2f} s")
    finally:
        _reap(process)
    for bracket_id, orders in killed_brackets.items():
        placed = {(i, r) for i, r in _bracket_orders(db, bracket_id) if r is not OrderRole.EXIT}
        if placed != orders:
            problems.append(f"bracket {bracket_id} got new orders after restart: "
                            f"{sorted(placed - orders)}")
    return _result(fault, check_journal(db), problems, codes, first_decision_s, lost_decisions,
                   kills_in_position=in_position, kills=kills, seed=seed)


# --- journal faults: a full disk, a lock held past the busy timeout -------------------------


@dataclass(frozen=True, slots=True)
class _Exit:
    code: int | None
    seconds: float  # from start to exit
    ended_s: float  # time.monotonic() at exit
    stderr: str
    log: str


def _run_to_exit(
    config: Path, db: Path, work: Path, name: str, timeout_s: float,
    during: Callable[[subprocess.Popen[bytes], Path], None] | None = None,
) -> _Exit:
    """Start the bot, optionally inject a fault (``during``), and wait for it to exit."""
    log, err = work / f"{name}.log", work / f"{name}.stderr"
    started = time.monotonic()
    process = start_bot(config, db, log, stderr_log=err)
    try:
        if during is not None:
            during(process, log)
        code: int | None = process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        code = None
    finally:
        _reap(process)
    ended = time.monotonic()
    return _Exit(code, ended - started, ended, err.read_text(), log.read_text())


def _fault_exit_problems(run: _Exit, db: Path, what: str, cause: str | None) -> list[str]:
    """Exit 3, exactly one stderr line naming the database (and ``cause``), no traceback."""
    if run.code is None:
        return [f"{what}: still running after {run.seconds:.1f} s"]
    problems = []
    if run.code != EXIT_JOURNAL_FAULT:
        problems.append(f"{what}: exit {run.code}, expected {EXIT_JOURNAL_FAULT}")
    lines = run.stderr.splitlines()
    match = FAULT_LINE.match(lines[0]) if len(lines) == 1 else None
    if match is None or match["path"] != str(db):
        problems.append(f"{what}: stderr is not the one fault line for {db}: {run.stderr!r}")
    elif cause is not None and cause not in match["cause"]:
        problems.append(f"{what}: cause {match['cause']!r}, expected {cause!r}")
    if "Traceback" in run.stderr + run.log:
        problems.append(f"{what}: a traceback in the output")
    return problems


def fill_up(folder: Path) -> int:
    """Write a file in ``folder`` until the filesystem is full; return the bytes it took."""
    written = 0
    chunk = b"\0" * 4096
    fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        while True:
            written += os.write(fd, chunk)
    except OSError as exc:
        if exc.errno != errno.ENOSPC:
            raise
    finally:
        os.close(fd)
    return written


@contextlib.contextmanager
def mounted_tmpfs(path: Path, size: str = "3m") -> Iterator[Path]:
    """Mount a small tmpfs at ``path`` for the block; raise TmpfsUnavailable if we cannot."""
    if os.geteuid() != 0:
        raise TmpfsUnavailable("needs root to mount a tmpfs")
    path.mkdir(parents=True, exist_ok=True)
    mount = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                           capture_output=True, text=True, timeout=30)
    if mount.returncode != 0:
        raise TmpfsUnavailable(f"mount -t tmpfs failed: {mount.stderr.strip()}")
    try:
        yield path
    finally:
        umount = subprocess.run(["umount", str(path)], capture_output=True, text=True,
                                timeout=30)
        if umount.returncode != 0:
            logger.warning("umount %s failed (%s); detaching it", path, umount.stderr.strip())
            subprocess.run(["umount", "-l", str(path)], capture_output=True, timeout=30)


def disk_full(work: Path, small_fs: Path, timeout_s: float = 60.0) -> FaultResult:
    """Journal on a small filesystem at full speed until it fills; then restart on it full.

    Both runs must exit 3 with the one documented line and no traceback; the journal must
    keep its invariants (an open position still has its working stop).
    """
    config = write_config(work, "disk_full.yaml", {"feed": {**FEED, "speed": 1_000_000}})
    db = small_fs / "trader.db"
    first = _run_to_exit(config, db, work, "disk_full_first", timeout_s)
    problems = _fault_exit_problems(first, db, "first run", None)
    filler = fill_up(small_fs)  # whatever the rolled-back transaction left free
    again = _run_to_exit(config, db, work, "disk_full_restart", timeout_s)
    problems += _fault_exit_problems(again, db, "restart on the full disk", None)
    state = heartbeat(db)
    codes = [c for c in (first.code, again.code) if c is not None]
    return _result("disk_full", check_journal(db), problems, codes, [],
                   filler_bytes=filler, heartbeat_status=state.status if state else None,
                   halted=state.halted if state else None, stderr=[first.stderr, again.stderr],
                   seconds_to_exit=[round(first.seconds, 3), round(again.seconds, 3)])


def db_locked(work: Path, timeout_s: float = 20.0) -> FaultResult:
    """Another connection holds ``BEGIN IMMEDIATE`` past the bot's busy timeout.

    The bot must exit 3 with the documented line ("database is locked") and no traceback;
    once the lock is gone, a restart must trade on from the same journal and stop cleanly.
    """
    config = write_config(work, "db_locked.yaml", {"feed": {**FEED, "speed": 1000}})
    db = work / "db_locked.db"
    holder = None
    locked_at = 0.0
    lock = contextlib.ExitStack()

    def hold_the_lock(process: subprocess.Popen[bytes], log: Path) -> None:
        nonlocal holder, locked_at
        wait_for(lambda: decision_count(db) >= 20, STARTUP_S, "20 decisions", process, log)
        holder = connect(db)
        lock.enter_context(write_transaction(holder))
        locked_at = time.monotonic()

    try:
        locked = _run_to_exit(config, db, work, "db_locked", timeout_s, hold_the_lock)
    finally:
        lock.close()
        if holder is not None:
            holder.close()
    problems = _fault_exit_problems(locked, db, "locked run", "database is locked")
    before = decision_count(db)
    log = work / "db_locked_restart.log"
    started = time.monotonic()
    process = start_bot(config, db, log)
    first_decision_s: list[float] = []
    try:
        first_decision_s.append(_time_to_first_decision(db, before, started, process, log))
        code, _ = _sigterm(process, SIGTERM_LIMIT_S)
    finally:
        _reap(process)
    if code != EXIT_OK:
        problems.append(f"restart after the lock: exit {code}")
    codes = [c for c in (locked.code, code) if c is not None]
    return _result("db_locked", check_journal(db), problems, codes, first_decision_s,
                   lock_to_exit_s=round(locked.ended_s - locked_at, 3), stderr=locked.stderr)

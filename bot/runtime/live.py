"""The live loop: restore from the journal, then bar -> engine, commands and heartbeat.

Start-up is crash-only: broker orders, position, risk counters, the halt flag and the indicator
window are rebuilt from SQLite, and a missing protective stop is re-placed before the first bar.
A malformed bar is skipped and counted. SIGTERM lets the current bar finish, writes a last
heartbeat and returns 0, at any feed speed: the loop yields to the event loop at least every
``YIELD_EVERY_S``, so the signal handler runs even when bars are behind schedule. What other
processes write (commands, config, rules, news) is looked for at most every ``POLL_EVERY_S`` of
wall time, not on every bar of a fast replay (``service``). A database failure (disk full, I/O
error, a lock past ``busy_timeout``) halts entries, records what it still can and raises
``JournalFault`` (``bot/faults.py``): the process exits 3. ``broker.mode`` picks the broker and
the bars: paper plays the built-in feed; ib_paper/ib_live trade through IB and take its
real-time bars (``bot/ib``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from bot.adapters.journal import SqliteJournal
from bot.adapters.release_calendar import release_calendar
from bot.adapters.session_cache import cached_session_clock
from bot.core.bar_quarantine import BarQuarantine, JumpLimits
from bot.core.engine import TradingEngine
from bot.core.protections import effective_risk, status_lines
from bot.core.protections import entry_block as protection_block
from bot.core.risk import RiskRule, RiskState, cooldown_until, entry_block, rebuild_state
from bot.core.session_levels import warmup_bars
from bot.core.sessions import CmeSessionClock
from bot.ports import BarStream, Broker, StreamNotice, wall_clock_utc
from bot.runtime.bar_source import (
    BarSource,
    Pacer,
    follows_wall_clock,
    open_bar_source,
    warm_start_bars,
)
from bot.runtime.catch_up import CatchUpGuard
from bot.runtime.commands import process_pending_commands
from bot.runtime.config_watch import ConfigWatcher
from bot.runtime.engine_guard import EngineGuard
from bot.runtime.equity_floor import EquityFloor
from bot.runtime.faults import JournalFault, cause_text, is_journal_error, journal_guard
from bot.runtime.heap import freeze_startup_heap, thaw_heap
from bot.runtime.journal_watch import JournalWatch
from bot.runtime.llm_service import LlmService
from bot.runtime.memory_restore import open_setups, restore_memory, resume_shadows
from bot.runtime.news_intake import NewsIntake
from bot.runtime.outside_writes import OutsideWrites
from bot.runtime.protections_restore import restore_protections
from bot.runtime.rules_watch import RulesWatcher
from bot.runtime.stop_signals import STOP_SIGNALS
from bot.runtime.stream_player import play_stream
from shared.config.settings import Settings
from shared.domain.errors import ConfigError, DataFileError
from shared.domain.instruments import get_instrument, usd_to_cents
from shared.domain.models import Bar, DecisionRecord, Mode, Order, Position, SessionPhase
from shared.persistence import journal_store, ops_store
from shared.persistence.config_source import store_version
from shared.persistence.db import open_database, set_busy_timeout, write_transaction
from shared.persistence.wal_checkpoint import WalCheckpointer

logger = logging.getLogger(__name__)

PRUNE_EVERY_S = 3600.0
STAND_DOWN_BUSY_MS = 500  # after a journal fault, each last best-effort write waits this long
LATENCY_SAMPLES = 100_000
# A replay at unlimited speed decides thousands of bars a second: the signal handler gets the
# event loop, and the other processes' writes are looked for, on a wall-clock basis instead of
# per bar (well inside ``engine.commands_poll_seconds``, the documented command latency).
YIELD_EVERY_S = 0.01
POLL_EVERY_S = 0.02


def commission_cents(settings: Settings) -> int:
    """Commission per contract per side, in cents (config value or the instrument default)."""
    instrument = get_instrument(settings.instrument.symbol)
    usd = settings.instrument.commission_per_side_usd
    return usd_to_cents(instrument.default_commission_per_side_usd if usd is None else usd)


def record_config_version(
    conn: sqlite3.Connection, settings: Settings, config_source: str
) -> int:
    """Store settings given in code (tests, benchmarks) as the active version; return its id."""
    with write_transaction(conn):
        version_id, _ = store_version(conn, settings, "bot", f"given at start ({config_source})",
                                      wall_clock_utc())
    return version_id


def restore_risk_state(
    conn: sqlite3.Connection, clock: CmeSessionClock, symbol: str, last_bar: Bar | None
) -> RiskState:
    """Rebuild today's risk counters and the halt flag from the journal."""
    heartbeat = ops_store.read_bot_state(conn)
    halted = heartbeat.halted if heartbeat else False
    halt_reason = heartbeat.halt_reason if heartbeat else ""
    if last_bar is None:
        return RiskState(halted=halted, halt_reason=halt_reason)
    day = clock.trading_day(last_bar.ts)
    since = last_bar.ts - timedelta(days=4)
    trades = [
        t for t in journal_store.trades_since(conn, since)
        if clock.trading_day(t.exit_ts) == day
    ]
    entries = [
        o for o in journal_store.entry_orders_since(conn, symbol, since)
        if clock.trading_day(o.created_ts) == day
    ]
    return rebuild_state(day, trades, len(entries), halted, halt_reason)


@dataclass(frozen=True, slots=True)
class BrokerContext:
    """What a broker adapter is restored from: the journal's orders, position and clocks."""

    settings: Settings
    conn: sqlite3.Connection
    working_orders: list[Order]
    saved_position: Position | None
    commission_cents: int
    engine_now: Callable[[], datetime]
    last_bar_ts: Callable[[], datetime | None]


BrokerFactory = Callable[[BrokerContext], tuple[Broker, BarStream | None]]
"""Builds the broker, and the bar stream when the broker brings its own bars (IB)."""


class LiveBot:
    """One running bot: engine, broker and journal over one SQLite connection.

    The broker (and, for IB, the bar stream) comes from ``make_broker``, chosen by the
    composition root (``bot/__main__.py``); the loop itself knows no adapter.
    """

    def __init__(
        self, settings: Settings, db_path: Path, config_source: str,
        make_broker: BrokerFactory, version_id: int | None = None,
        stop_requested: asyncio.Event | None = None,
    ) -> None:
        self.settings = settings
        self._bar_length = timedelta(seconds=settings.feed.bar_seconds)  # restart to change
        self.db_path = Path(db_path)
        with journal_guard(self.db_path, os_errors=True):  # opening creates the folder
            self.conn = open_database(db_path)
        self.symbol = get_instrument(settings.instrument.symbol).symbol
        # The version in force: chosen by ``python -m bot run`` (env overrides applied), or the
        # settings given in code stored as a version (then no env overrides on reload either).
        self.config_version = version_id if version_id is not None else record_config_version(
            self.conn, settings, config_source)
        self.config_watcher = ConfigWatcher(
            settings, self.config_version, os.environ if version_id is not None else {})
        self.clock = cached_session_clock()
        self.broker, self.stream = make_broker(BrokerContext(
            settings, self.conn, journal_store.working_orders(self.conn, self.symbol),
            journal_store.load_position(self.conn, self.symbol), commission_cents(settings),
            lambda: self.engine_now(),
            lambda: self.engine.last_bar.ts if self.engine.last_bar else None,
        ))
        recent = journal_store.recent_bars(self.conn, self.symbol, warmup_bars(settings))
        last_bar = recent[-1] if recent else None
        position = self.broker.position()
        labels = {}
        if position is not None:
            labels[position.bracket_id] = journal_store.entry_labels(self.conn, position.bracket_id)
        brackets = {o.bracket_id for o in self.broker.working_orders()}
        brackets |= {position.bracket_id} if position is not None else set()
        self.engine = TradingEngine(
            settings, self.broker, SqliteJournal(self.conn), self.clock,
            restore_protections(self.conn, self.clock, restore_risk_state(
                self.conn, self.clock, self.symbol, last_bar), settings), labels,
            memory=restore_memory(self.conn), memory_open=open_setups(self.conn, sorted(brackets)),
        )
        self.engine.releases = release_calendar(settings.protections)  # blackouts' calendar
        self.engine.warm_up(recent)
        self.guard = EngineGuard(self.engine)
        self.quarantine = BarQuarantine(JumpLimits.from_config(  # bad prints never reach it
            settings.feed, get_instrument(self.symbol).tick_size))
        self.quarantine.seed(recent)
        self.equity_floor = EquityFloor(self.conn)  # risk.min_equity_usd: flatten and halt
        self.outside = OutsideWrites(self.conn)  # skips polls while no one else wrote
        self.checkpointer = WalCheckpointer(self.conn)  # WAL checkpoints between bars
        self.news = NewsIntake(self.conn, self.engine)
        resume_shadows(self.conn, self.engine)  # refused entries memory was still following
        self.llm = LlmService(settings, self.conn, Path(db_path), self.engine, wall_clock_utc)
        self.rules_watch = RulesWatcher(self.conn, self.engine, wall_clock_utc())  # learned
        self.stop_requested = asyncio.Event() if stop_requested is None else stop_requested
        self.bars_processed = 0
        self.bad_bars = 0
        self.bar_latencies_ms: deque[float] = deque(maxlen=LATENCY_SAMPLES)
        self._last_heartbeat_s = float("-inf")
        self._next_poll_s = float("-inf")  # when ``service`` looks for outside writes again
        self._next_yield_s = float("-inf")  # when the bar loop must next give the loop a turn
        self._last_prune_s = float("-inf")
        self._started_with_bar = last_bar
        self.journal_watch = JournalWatch(self.db_path, wall_clock_utc)  # deleted or replaced
        self.catch_up = CatchUpGuard(settings.feed.bar_seconds,
                                     self.stream is None and follows_wall_clock(settings.feed),
                                     settings.engine.catch_up_hold_after_s)

    def engine_now(self) -> datetime:
        """The engine's time: the close of its last bar, or the wall clock before any bar."""
        last = self.engine.last_bar
        if last is None:
            return wall_clock_utc()
        return last.ts + self._bar_length

    def stopping(self) -> bool:
        """Whether a stop was requested (SIGTERM, ``feed.max_bars``)."""
        return self.stop_requested.is_set()

    def poll_seconds(self) -> float:
        """How long the loop may wait for a bar before it services commands again."""
        return self.settings.engine.commands_poll_seconds

    def reconcile(self) -> list[str]:
        """Check the broker's orders against the position; return what was found and fixed."""
        return self.engine.reconcile(self.engine_now())

    def request_stop(self) -> None:
        """Ask the loop to finish the current bar and return (SIGTERM handler)."""
        self.stop_requested.set()

    async def run(self) -> int:
        """Restore, reconcile, then process bars until stopped; return the exit code.

        Every database error that is not a bug is a journal fault: the bot stands down
        (``_stand_down``) and raises ``JournalFault`` for the composition root to report. An
        unusable replay file (DataFileError) or replay setting (ConfigError) is journaled as a
        ``feed_error`` event, the heartbeat says "refused", and the error propagates so
        ``python -m bot run`` exits 2 with its one line instead of idling.
        """
        try:
            return await self._run()
        except JournalFault as fault:  # the journal file deleted or replaced (journal_watch)
            self._stand_down(fault, fault)
            raise
        except Exception as exc:
            if not is_journal_error(exc):
                raise
            fault = JournalFault(self.db_path, cause_text(exc), self._protection())
            self._stand_down(fault, exc)
            raise fault from exc

    async def _run(self) -> int:
        for message in self.reconcile():
            logger.warning("reconcile: %s", message)
        self.service(force_heartbeat=True, status="running")
        if self.stream is not None:
            freeze_startup_heap()
            await play_stream(self, self.stream)
            return self._finish(2 if self.stream.fatal else 0)
        try:
            source = open_bar_source(self.settings.feed, self._started_with_bar, wall_clock_utc,
                                     warm_start_bars(self.settings))
        except (DataFileError, ConfigError) as exc:  # an unusable replay file: refuse, exit 2
            logger.error("cannot open the bar source: %s", exc)
            self._record_incident("feed_error", str(exc))
            self._finish(2)
            raise
        self._report_source(source)
        if source.history:
            self.warm_start(source.history)
        freeze_startup_heap()
        finished = await self._play(source.bars)
        if finished:
            logger.info("bar source finished; idle until stopped")
            while not self.stop_requested.is_set():
                await self._sleep(self.settings.engine.commands_poll_seconds)
                self.service()
        return self._finish(0)

    def _report_source(self, source: BarSource) -> None:
        """Log and journal what the replay loader skipped, and rows it had to sort."""
        if source.rows_skipped:
            self.bad_bars += source.rows_skipped
            message = f"replay skipped {source.rows_skipped} malformed or duplicate rows"
            logger.warning("%s: %s", message, "; ".join(source.problems[:3]))
            self._record_incident("bad_bar", message, {"examples": list(source.problems[:5])})
        if source.out_of_order:
            message = f"replay rows out of time order (played sorted): {source.out_of_order}"
            logger.warning("%s: %s", message, "; ".join(source.order_problems))
            self._record_incident("bars_out_of_order", message, {
                "count": source.out_of_order, "examples": list(source.order_problems)})

    def _finish(self, code: int) -> int:
        self.service(force_heartbeat=True, status="stopped" if code == 0 else "refused")
        self.llm.stop()
        self.conn.close()
        thaw_heap()
        logger.info("stopped after %d bars (%d bad bars skipped)", self.bars_processed,
                    self.bad_bars)
        return code

    def _protection(self) -> str:
        """What protects the open position once the process is gone (for the fault line)."""
        position = self.broker.position()
        if position is None:
            return "no open position"
        if self.settings.broker.mode is Mode.PAPER:
            return "the open position keeps its journaled stop (restored on restart)"
        return "the open position keeps its stop at the broker"

    def _stand_down(self, fault: JournalFault, exc: BaseException) -> None:
        """Halt entries and record the fault and a ``fault`` heartbeat, each at best effort.

        Orders are left alone: the paper bracket is journaled up to the last good bar, an IB
        bracket lives at the exchange, and flattening blind would be worse than a working stop.
        """
        logger.error("journal fault: %s", fault)
        logger.debug("journal fault traceback", exc_info=exc)
        now = self.engine_now()
        self._best_effort("shorten the busy timeout",
                          lambda: set_busy_timeout(self.conn, STAND_DOWN_BUSY_MS))
        detail = {"path": str(fault.path), "cause": fault.cause, "protection": fault.protection}
        self.engine.journal.record_event(now, "journal_fault", "incident", str(fault), detail)
        self._best_effort("record the halt", lambda: self.engine.halt(str(fault), now))
        self._best_effort("write the fault heartbeat", lambda: self._write_heartbeat("fault"))
        self._best_effort("stop the LLM worker", self.llm.stop)
        self._best_effort("close the database", self.conn.close)

    @staticmethod
    def _best_effort(what: str, action: Callable[[], object]) -> None:
        try:
            action()
        except Exception as exc:  # the journal is already failing: note it, never raise
            logger.warning("after the journal fault, could not %s: %s", what, exc)

    async def _play(self, bars: Iterator[Bar]) -> bool:
        feed = self.settings.feed
        pacer = Pacer(feed.bar_seconds, feed.speed, follows_wall_clock(feed))
        for bar in bars:
            await self._wait_until(pacer.due(bar, time.monotonic(), wall_clock_utc()))
            if self.stop_requested.is_set():
                return False
            self.catch_up.observe(self.engine, bar, wall_clock_utc())  # no entries on a backlog
            self.process_bar(bar)
            self.service()
            if self.max_bars_reached():
                self.stop_requested.set()
                return False
        return True

    async def _wait_until(self, due_s: float) -> None:
        """Serve commands until ``due_s`` (monotonic) or a stop; yield at least every
        ``YIELD_EVERY_S``.

        A loop behind schedule (a fast feed, a replay) would otherwise never await, and the
        SIGTERM handler, which runs on the event loop, would never get its turn.
        """
        now_s = time.monotonic()
        if now_s >= due_s and now_s < self._next_yield_s:
            return  # behind schedule and yielded a moment ago: the next bar at once
        self._next_yield_s = now_s + YIELD_EVERY_S
        await asyncio.sleep(0)
        while not self.stop_requested.is_set() and time.monotonic() < due_s:
            poll_s = self.settings.engine.commands_poll_seconds
            await self._sleep(min(poll_s, due_s - time.monotonic()))
            self.service()

    def max_bars_reached(self) -> bool:
        """Whether ``feed.max_bars`` decisions have been made (tests stop there)."""
        max_bars = self.settings.feed.max_bars
        return max_bars is not None and self.bars_processed >= max_bars

    def process_bar(self, bar: Bar, decide: bool = True) -> None:
        """Validate one bar, then decide on it, or (``decide`` False) only warm up with it."""
        last = self.engine.last_bar
        if not decide and last is not None and bar.ts <= last.ts:
            return  # history overlapping what the window already holds
        verdict = self.quarantine.check(bar)  # malformed, out of order, or a bad print
        if verdict.event is not None:
            self._record_incident(verdict.event, verdict.message, verdict.detail, ts=bar.ts)
        if not verdict.accepted:
            self.bad_bars += 1
            logger.warning("skipped bad bar #%d: %s", self.bad_bars, verdict.message)
            return
        if not decide:
            self.engine.warm_up([bar])
            self.engine.journal.record_bar(self.symbol, bar)
            self.engine.journal.flush()
            return
        started_s = time.perf_counter()
        self.guard.on_bar(bar, self._poll_news, self._after_decision)  # survives an engine fault
        self.bar_latencies_ms.append((time.perf_counter() - started_s) * 1000)
        self.bars_processed += 1

    def _poll_news(self) -> None:
        """Read newly scored headlines, only when another connection wrote since the last look
        (as of the probe ``service`` made after the previous bar)."""
        if self.outside.since_last("news", fresh=False):
            self.news.poll()

    def _after_decision(self, record: DecisionRecord) -> None:
        """After the engine decided on a bar: the equity floor, then the LLM detector."""
        if self.engine.last_bar is not None:  # the bar just decided on
            self.equity_floor.check(self.engine, self.engine.last_bar, self.engine_now())
        self.llm.after_bar(record)

    def warm_start(self, history: Sequence[Bar]) -> None:
        """Journal a first start's history bars (charts) and warm the indicators with them.

        No decision, no order: the engine only fills its window, as after a restart.
        """
        self.engine.warm_up(history)
        self.quarantine.seed(history)
        with write_transaction(self.conn):
            journal_store.insert_bars(self.conn, self.symbol, history)
        first, last = history[0].ts, history[-1].ts
        message = (f"warm start: {len(history)} bars of history, {first:%Y-%m-%d %H:%M} to "
                   f"{last:%Y-%m-%d %H:%M:%S} UTC (indicators and charts only)")
        self.engine.journal.record_event(self.engine_now(), "warm_start", "info", message,
                                         {"bars": len(history)})
        self.engine.journal.flush()
        logger.info(message)

    def record_notice(self, notice: StreamNotice) -> None:
        """Journal a broker or feed notice as an event at the engine's time."""
        self.engine.journal.record_event(
            self.engine_now(), notice.kind, notice.severity, notice.message, notice.detail
        )
        self.engine.journal.flush()

    def _record_incident(
        self, kind: str, message: str, detail: dict | None = None, ts: datetime | None = None
    ) -> None:
        self.engine.journal.record_event(
            ts or self.engine_now(), kind, "warning", message, detail or {}
        )
        self.engine.journal.flush()

    async def _sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stop_requested.wait(), timeout=seconds)

    def service(self, force_heartbeat: bool = False, status: str = "running") -> None:
        """Run pending commands and write the heartbeat when it is due (or forced).

        Other processes' writes are looked for at most every ``POLL_EVERY_S`` (and when
        forced); the LLM's finished analyses are collected on every call.
        """
        now_s = time.monotonic()
        handled = 0
        if force_heartbeat or now_s >= self._next_poll_s:
            self._next_poll_s = now_s + POLL_EVERY_S
            handled = self._poll_outside(force_heartbeat)
            self.checkpointer.maybe_checkpoint()  # not inside a bar's commit
        handled += self.llm.service()
        due = now_s - self._last_heartbeat_s >= self.settings.engine.heartbeat_seconds
        if force_heartbeat or handled or due:
            self._write_heartbeat(self.guard.status(status))
            self._last_heartbeat_s = now_s

    def _poll_outside(self, forced: bool) -> int:
        """The journal files' check, then commands, config and rules (the first two only when
        another connection committed since the last look, or ``forced``)."""
        self.journal_watch.check(self.conn, self._protection)
        outside = self.outside.since_last("service") or forced
        handled = process_pending_commands(
            self.conn, self.engine, self.engine_now(), wall_clock_utc(), self.llm
        ) if outside else 0
        handled += self._reload_config() if outside else 0
        return handled + self.rules_watch.poll(self.engine_now(), wall_clock_utc(), outside)

    def _reload_config(self) -> int:
        change = self.config_watcher.poll(self.conn)
        if change is None:
            return 0
        if change.error is not None:
            self._record_incident("config_rejected", change.error)
            return 1
        self.settings = change.settings
        self.engine.apply_settings(change.settings)
        self.llm.apply_settings(change.settings)
        self.config_version = change.version_id or self.config_version
        detail = {"applied": list(change.applied), "needs_restart": list(change.needs_restart)}
        message = f"config version {self.config_version} loaded; applied: " + (
            ", ".join(change.applied) or "nothing"
        )
        if change.needs_restart:
            message += "; applies on restart: " + ", ".join(change.needs_restart)
        self.engine.journal.record_event(self.engine_now(), "config_reloaded", "info", message,
                                         detail)
        self.engine.journal.flush()
        return 1

    def _session_and_block(
        self, risk_state: RiskState
    ) -> tuple[SessionPhase, datetime | None, str]:
        """The session phase at the engine's time, when it changes, and why entries are blocked
        (empty when the risk manager would take one now)."""
        now = self.engine_now()
        try:
            phase, next_change = self.clock.phase(now)
            minutes_to_close = self.clock.minutes_to_close(now)
        except ValueError:  # outside the calendar the clock was built for
            phase, next_change, minutes_to_close = SessionPhase.UNKNOWN, None, 0.0
        block = entry_block(risk_state, effective_risk(
            self.settings.risk, self.settings.protections, risk_state.day_start_equity_cents),
            now, minutes_to_close) or protection_block(
            risk_state, self.settings.protections, now, self.engine.releases)
        if block is not None and block.rule != RiskRule.NEAR_CLOSE:
            return phase, next_change, block.reason
        if phase is not SessionPhase.OPEN:
            return phase, next_change, f"market {phase.value}"
        return phase, next_change, block.reason if block is not None else ""

    def _write_heartbeat(self, status: str) -> None:
        last = self.engine.last_bar
        position = self.broker.position()
        unrealized = self.broker.open_pnl_cents(last.close) if last else 0
        realized_total = journal_store.total_realized_cents(self.conn)
        equity = usd_to_cents(self.settings.broker.paper_starting_equity_usd) + realized_total
        risk_state = self.engine.risk_state
        cfg = effective_risk(self.settings.risk, self.settings.protections,
                             risk_state.day_start_equity_cents)  # % of equity limits applied
        phase, next_change, blocked = self._session_and_block(risk_state)
        heartbeat = ops_store.Heartbeat(
            heartbeat_at=wall_clock_utc(),
            last_bar_ts=last.ts if last else None,
            pid=os.getpid(),
            mode=self.settings.broker.mode.value,
            broker_connected=bool(self.broker.connected),
            symbol=self.symbol,
            position_side=position.side.value if position else None,
            position_contracts=position.contracts if position else 0,
            position_entry_price=position.entry_price if position else None,
            position_entry_ts=position.entry_ts if position else None,
            position_stop_price=position.stop_price if position else None,
            position_target_price=position.target_price if position else None,
            last_price=last.close if last else None,
            equity_cents=equity + unrealized,
            realized_today_cents=risk_state.realized_today_cents,
            unrealized_cents=unrealized,
            bias=self.engine.bias.value,
            halted=risk_state.halted,
            halt_reason=risk_state.halt_reason,
            entries_blocked_reason=blocked,
            entries_today=risk_state.entries_today,
            max_trades_per_day=cfg.max_trades_per_day,
            consecutive_losses=risk_state.consecutive_losses,
            max_consecutive_losses=cfg.max_consecutive_losses,
            daily_loss_limit_cents=usd_to_cents(cfg.daily_loss_limit_usd),
            cooldown_until=cooldown_until(risk_state, cfg),
            session_phase=phase,
            session_next_change_at=next_change,
            config_version=self.config_version,
            bars_processed=self.bars_processed,
            bad_bars_skipped=self.bad_bars,
            protections_status="\n".join(status_lines(
                risk_state, self.settings.protections, self.settings.risk, self.engine_now(),
                self.engine.releases)),
            day_peak_pnl_cents=risk_state.day_peak_pnl_cents,
            profit_lock_rule=risk_state.profit_lock_rule, profit_lock=risk_state.profit_lock,
            status=status,
        )
        prune = last is not None and time.monotonic() - self._last_prune_s >= PRUNE_EVERY_S
        with write_transaction(self.conn):
            ops_store.upsert_bot_state(self.conn, heartbeat)
            if prune and last is not None:
                keep = timedelta(days=self.settings.engine.bars_retention_days)
                journal_store.prune_bars(self.conn, self.symbol, last.ts - keep)
                self._last_prune_s = time.monotonic()


async def run_live(
    settings: Settings, db_path: Path, config_source: str, make_broker: BrokerFactory,
    version_id: int | None = None, stop_requested: asyncio.Event | None = None,
) -> int:
    """Run the bot until SIGTERM/SIGINT/SIGHUP (or ``feed.max_bars``); return the exit code.

    The signal handlers go in before start-up, so a SIGTERM while restoring is honoured too.
    Raises ``JournalFault`` when the database fails, at start-up or later.
    """
    stop_requested = asyncio.Event() if stop_requested is None else stop_requested
    loop = asyncio.get_running_loop()
    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, stop_requested.set)
    with journal_guard(Path(db_path)):  # start-up reads and writes the journal too
        bot = LiveBot(settings, db_path, config_source, make_broker, version_id, stop_requested)
    logger.info(
        "bot running: mode=%s symbol=%s feed=%s speed=%g db=%s",
        settings.broker.mode.value, bot.symbol, settings.feed.source, settings.feed.speed,
        db_path,
    )
    return await bot.run()


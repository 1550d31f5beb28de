"""The IB connection for the live loop: connect forever with backoff, reconcile, stream bars.

After every connect: live-account guard, front month, reconcile, history for the window (or
the gap), then real-time bars. A disconnect or error 1100 stops new entries at once; every
transition is reported as a notice. Inside IB Gateway's daily restart window those notices are
expected events, not incidents, and refused reconnects outside it end in an ``ib_login_needed``
incident (``restart_watch``). Implements ``bot.ports.BarStream``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from ib_async import IB, Contract

from bot.adapters.ib import feed as ib_feed
from bot.adapters.ib.book import OrderBook
from bot.adapters.ib.broker import IbBroker
from bot.adapters.ib.contracts import ListedContract, choose_front_month, list_contracts, qualify
from bot.adapters.ib.ids import OrderIdMap
from bot.adapters.ib.mapping import ERROR_RULES, IbAction, is_paper_account
from bot.adapters.ib.pacing import HistoryPacer
from bot.adapters.ib.reconcile import reconcile_with_ib
from bot.adapters.ib.restart_watch import RestartWatch
from bot.ports import StreamItem, StreamNotice, wall_clock_utc
from shared.config.settings import Settings
from shared.domain.errors import TemporaryError
from shared.domain.instruments import get_instrument
from shared.domain.models import Bar, Order, Position
from shared.persistence import ib_store

logger = logging.getLogger(__name__)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
LIVE_ENV_FLAG = "TRADER_ALLOW_LIVE"
CONNECT_ERRORS = (OSError, TimeoutError, ConnectionError, TemporaryError)
CLOSE_RETRY_S = 1.0  # how long close() waits for the session task before cancelling it again


class LiveAccountRefused(Exception):
    """The gateway is logged in to a live account and live trading is not allowed."""


class IbSession:
    """Owns the ib_async client; the live loop reads bars and notices from it."""

    def __init__(self, settings: Settings, broker: IbBroker, allow_live: bool,
                 last_bar_ts: Callable[[], datetime | None],
                 clock: Callable[[], datetime] = wall_clock_utc) -> None:
        self.settings = settings
        self.cfg = settings.ib
        self.broker = broker
        self.allow_live = allow_live
        self.fatal: str | None = None
        self.ib = IB()
        self.pacer = HistoryPacer()
        self._last_bar_ts = last_bar_ts
        self._queue: asyncio.Queue[StreamItem | None] = asyncio.Queue()
        self._notices: list[StreamNotice] = []
        self._feed = ib_feed.RealtimeFeed(settings.feed.bar_seconds, self._on_bar)
        self._disconnected = asyncio.Event()
        self._peer_closed: asyncio.Future[str] | None = None
        self._paused = False
        self._farm_broken = False
        self._reconcile_due = False
        self._last_error_code = 0
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._flagged_perm_ids: set[int] = set()
        self._listed: list[ListedContract] = []
        self._contract_day: date | None = None
        self._roll_task: asyncio.Task[None] | None = None
        self.restart = RestartWatch(self.cfg, clock)  # the daily restart and "login needed"

    # --- BarStream --------------------------------------------------------------------------

    @property
    def trading_ready(self) -> bool:
        return self.broker.connected and not self._paused

    async def start(self) -> None:
        ib_logger = logging.getLogger("ib_async")
        ib_logger.setLevel(max(ib_logger.getEffectiveLevel(), logging.WARNING))
        self.ib.errorEvent += self._on_error
        self.ib.disconnectedEvent += self._on_disconnected
        self.ib.client.apiError += self._on_api_error
        self.ib.updateEvent += self._on_update
        self._task = asyncio.create_task(self._run(), name="ib-session")

    async def next_item(self, timeout_s: float) -> StreamItem | None:
        try:
            return await asyncio.wait_for(self._queue.get(), timeout_s)
        except TimeoutError:
            return None

    def drain_notices(self) -> list[StreamNotice]:
        notices, self._notices = self._notices + self.broker.drain_notices(), []
        return notices

    def needs_reconcile(self) -> bool:
        self.broker.sync()
        due = self._reconcile_due or self.broker.book.has_updates()
        self._reconcile_due = False
        return due

    async def close(self) -> None:
        """End the session task for certain: Python 3.11's ``asyncio.wait_for`` (used inside
        ib_async too) can swallow a cancellation that lands as its inner wait ends, so the task
        is also told to stop by a flag and cancelled again until it is done."""
        self._closing = True
        if self._roll_task is not None:
            self._roll_task.cancel()
        task = self._task
        while task is not None and not task.done():
            task.cancel()
            await asyncio.wait({task}, timeout=CLOSE_RETRY_S)
        self._feed.unsubscribe()
        self.broker.detach()
        self.ib.disconnect()

    # --- connecting -------------------------------------------------------------------------

    def _notice(self, kind: str, severity: str, message: str, **detail: object) -> None:
        log = logger.warning if severity in ("warning", "incident") else logger.info
        log("%s: %s", kind, message)
        self._notices.append(StreamNotice(kind, severity, message, dict(detail)))
        self._queue.put_nowait(None)

    async def _run(self) -> None:
        delay_s = self.cfg.reconnect_initial_s
        attempt = 0
        where = f"{self.cfg.host}:{self.cfg.port} (client id {self.cfg.client_id})"
        while not self._closing:
            attempt += 1
            try:
                await self._connect()
            except LiveAccountRefused as exc:
                self.fatal = str(exc)
                self._notice("live_account_refused", "incident", str(exc))
                self._cleanup()
                return
            except Exception as exc:  # never give up on IB: log, back off, try again
                if not isinstance(exc, CONNECT_ERRORS):
                    logger.exception("unexpected error while connecting to IB")
                self._cleanup()
                reason = self._failure_reason(exc)
                for notice in self.restart.connect_failed(where, reason, attempt, delay_s):
                    self._notice(notice.kind, notice.severity, notice.message, **notice.detail)
                await asyncio.sleep(delay_s)
                delay_s = min(delay_s * 2, self.cfg.reconnect_max_s)
                continue
            delay_s, attempt = self.cfg.reconnect_initial_s, 0
            self.restart.connected()
            try:
                await self._serve()
            except Exception:  # the watchdog must not end the session
                logger.exception("IB session watchdog failed; reconnecting")
            if self._closing:
                return
            self._cleanup()
            notice = self.restart.disconnected(where, delay_s)
            self._notice(notice.kind, notice.severity, notice.message, **notice.detail)
            await asyncio.sleep(delay_s)

    def _failure_reason(self, exc: BaseException) -> str:
        if self._last_error_code == 326:
            return f"client id {self.cfg.client_id} is already in use (IB error 326)"
        return str(exc) or type(exc).__name__

    async def _connect(self) -> None:
        self._disconnected.clear()
        self._last_error_code = 0
        self._paused = False
        loop = asyncio.get_running_loop()
        self._peer_closed = loop.create_future()
        connect = asyncio.ensure_future(self.ib.connectAsync(
            self.cfg.host, self.cfg.port, clientId=self.cfg.client_id,
            timeout=self.cfg.connect_timeout_s, account=self.cfg.account))
        done, _ = await asyncio.wait({connect, self._peer_closed},
                                     return_when=asyncio.FIRST_COMPLETED)
        if connect not in done:
            connect.cancel()
            await asyncio.wait({connect})  # unlike awaiting it, never swallows our own cancel
            if not connect.cancelled():
                connect.exception()  # retrieved: the peer's reason below is the one to report
            raise ConnectionError(self._peer_closed.result())
        connect.result()
        accounts = self.ib.managedAccounts()
        live = [a for a in accounts if not is_paper_account(a)]
        if live and not self.allow_live:
            raise LiveAccountRefused(
                f"refusing to trade a live account ({', '.join(live)}): set broker.allow_live: "
                "true in the config AND TRADER_ALLOW_LIVE=yes in the environment")
        server_now = await self.ib.reqCurrentTimeAsync()
        self._listed = await list_contracts(self.ib, self.broker.instrument.symbol,
                                            self.cfg.exchange)
        self._contract_day = server_now.astimezone(UTC).date()
        chosen = choose_front_month(self._listed, self._contract_day,
                                    self.cfg.roll_days_before_expiry)
        contract = await qualify(self.ib, chosen.con_id, self.cfg.exchange)
        self.broker.attach(self.ib, contract)
        reconcile_with_ib(self.broker, self._flagged_perm_ids)
        if self.broker.pending_flatten is not None:
            self.broker.close_position(self.broker.pending_flatten, self.broker.now())
        self._reconcile_due = True
        self._notice(self.restart.connected_kind(), "info",
                     f"connected to IB at {self.cfg.host}:{self.cfg.port} (client id "
                     f"{self.cfg.client_id}, account {', '.join(accounts)}); trading "
                     f"{contract.localSymbol} (conId {contract.conId})",
                     con_id=contract.conId, local_symbol=contract.localSymbol)
        await self._load_history(contract, server_now)
        self._feed.subscribe(self.ib, contract)

    async def _load_history(self, contract: Contract, server_now: datetime) -> None:
        bar_s = self.settings.feed.bar_seconds
        seconds = ib_feed.history_seconds(self.settings.features.window_bars, bar_s,
                                          self._last_bar_ts(), server_now)
        try:
            bars = await ib_feed.fetch_history(self.ib, contract, bar_s, seconds, self.pacer)
        except CONNECT_ERRORS as exc:
            self._notice("ib_history_error", "warning", f"no history for the window: {exc}")
            return
        complete = [b for b in bars if b.ts + timedelta(seconds=bar_s) <= server_now]
        if complete:
            self._queue.put_nowait(StreamItem(tuple(complete), live=False))

    async def _serve(self) -> None:
        check_s = max(0.05, min(1.0, self.cfg.bar_timeout_s / 4))
        # asyncio.wait, not wait_for: on 3.11 wait_for can swallow the cancel that ends us.
        dropped = asyncio.ensure_future(self._disconnected.wait())
        try:
            while not dropped.done() and not self._closing:
                await asyncio.wait({dropped}, timeout=check_s)
                if self._feed.stalled(self.cfg.bar_timeout_s) and self.broker.connected:
                    self._notice("ib_feed_stalled", "warning",
                                 f"no real-time bar for {self.cfg.bar_timeout_s:g} s; "
                                 "re-requested")
                    self._resubscribe()
        finally:
            dropped.cancel()

    def _resubscribe(self) -> None:
        if self.broker.contract is not None and self.ib.isConnected():
            self._feed.subscribe(self.ib, self.broker.contract)

    def _cleanup(self) -> None:
        self._feed.unsubscribe()
        self.broker.detach()
        self.ib.disconnect()

    # --- ib_async events --------------------------------------------------------------------

    def _on_bar(self, bar: Bar) -> None:
        self._queue.put_nowait(StreamItem((bar,), live=True))
        day = bar.ts.astimezone(UTC).date()
        if self._contract_day is not None and day != self._contract_day and (
                self._roll_task is None or self._roll_task.done()):
            self._roll_task = asyncio.create_task(self._roll_if_due(day))

    async def _roll_if_due(self, day: date) -> None:
        """On a new day, switch to the next quarterly once the roll date is reached and flat."""
        current = self.broker.contract
        chosen = choose_front_month(self._listed, day, self.cfg.roll_days_before_expiry)
        if current is None or chosen.con_id == current.conId:
            self._contract_day = day
            return
        if self.broker.book.position is not None or self.broker.book.orders:
            self._contract_day = day  # ask again tomorrow; never roll with risk on
            self._notice("roll_deferred", "warning",
                         f"{current.localSymbol} is due to roll to {chosen.local_symbol}; "
                         "deferred while a position or order is open")
            return
        try:
            contract = await qualify(self.ib, chosen.con_id, self.cfg.exchange)
        except CONNECT_ERRORS as exc:
            logger.warning("roll to %s failed, retried on the next bar: %s",
                           chosen.local_symbol, exc)
            return
        self._contract_day = day
        self.broker.attach(self.ib, contract)
        self._feed.subscribe(self.ib, contract)
        self._notice("contract_rolled", "info",
                     f"rolled from {current.localSymbol} to {contract.localSymbol}",
                     con_id=contract.conId, local_symbol=contract.localSymbol)

    def _on_update(self) -> None:
        if self.broker.connected:
            self.broker.sync()
            if self.broker.book.has_updates() or self.broker.book.notices:
                self._queue.put_nowait(None)

    def _on_disconnected(self) -> None:
        self.broker.detach()
        self._disconnected.set()

    def _on_api_error(self, message: str) -> None:
        if self._peer_closed is not None and not self._peer_closed.done():
            self._peer_closed.set_result(message)

    def _on_error(self, req_id: int, code: int, message: str, contract: object) -> None:
        self._last_error_code = code
        rule = ERROR_RULES.get(code)
        if rule is None or rule.action in (IbAction.ORDER, IbAction.CLIENT_ID_IN_USE):
            return
        if rule.action is IbAction.FARM_OK and not self._farm_broken:
            return  # the routine "farm OK" notices at every connect
        if rule.action is IbAction.PAUSE:
            self._paused = True
        elif rule.action in (IbAction.RESTORED, IbAction.RESTORED_DATA_LOST):
            self._paused = False
            self._reconcile_due = True
            if rule.action is IbAction.RESTORED_DATA_LOST:
                self._resubscribe()
        elif rule.action is IbAction.FARM_BROKEN:
            self._farm_broken = True
        elif rule.action is IbAction.FARM_OK:
            self._farm_broken = False
            self._resubscribe()
        kind, severity = self.restart.error_kind(rule.kind, rule.severity)
        self._notice(kind, severity, f"IB {code}: {message}", code=code)


def open_ib(
    settings: Settings, conn: sqlite3.Connection, working: list[Order],
    position: Position | None, commission_estimate_cents: int,
    now: Callable[[], datetime], last_bar_ts: Callable[[], datetime | None],
    clock: Callable[[], datetime] = wall_clock_utc,
) -> tuple[IbBroker, IbSession]:
    """The IB broker and its session, restored from the journal (IB corrects it on connect)."""
    instrument = get_instrument(settings.instrument.symbol)
    seen = ib_store.fill_ids_since(conn, EPOCH)
    book = OrderBook(instrument, working, position, seen)
    ids = OrderIdMap(conn, settings.ib.client_id)
    broker = IbBroker(instrument, settings.ib, book, ids, commission_estimate_cents, now)
    allow_live = settings.broker.allow_live and os.environ.get(LIVE_ENV_FLAG) == "yes"
    return broker, IbSession(settings, broker, allow_live, last_bar_ts, clock)

"""One background sender per channel: a bounded queue, the rate limit, splitting, retries.

Each sender owns its thread and its SQLite connection; a slow or dead channel only ever holds
its own thread (the trading bot is another process altogether). Every attempt of every part is
a row in ``alert_attempts``; the delivery ends ``sent``, ``failed`` (after ``max_attempts`` per
part) or ``dropped`` (older than ``max_age_minutes`` when its turn came). A stop request leaves
an unfinished delivery ``queued``, so the next start sends it.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from bot.alerts.channels import Transport
from bot.alerts.pacing import RateLimiter, backoff_s, sent_length_telegram, split_text
from bot.ports import wall_clock_utc
from shared.config.settings import AlertsConfig
from shared.domain.alerts import AlertLevel, Channel, DeliveryStatus
from shared.persistence import alerts_store
from shared.persistence.alerts_store import DeliveryRow
from shared.persistence.db import connect, write_transaction

logger = logging.getLogger(__name__)


class ChannelSender:
    """Delivers queued alerts of one channel, in order, on its own thread."""

    def __init__(
        self, channel: Channel, transport: Transport, db_path: Path,
        config: Callable[[], AlertsConfig], wall_clock: Callable[[], datetime] = wall_clock_utc,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.channel = channel
        self.transport = transport
        self._db_path = db_path
        self._config = config
        self._wall_clock = wall_clock
        cfg = config()
        self.queue: queue.Queue[DeliveryRow] = queue.Queue(maxsize=cfg.queue_size)
        self.limiter = RateLimiter(cfg.per_minute[channel], monotonic)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"alerts-{channel.value}",
                                        daemon=True)
        self._lock = threading.Lock()
        self.rate_limited = threading.Event()  # set while a send waits for the rate limit
        self.last_sent_at: datetime | None = None
        self.last_error = ""
        self.last_error_at: datetime | None = None

    def start(self) -> None:
        self._thread.start()

    def offer(self, delivery: DeliveryRow) -> bool:
        """Queue a delivery; False when the queue is full (the caller records it dropped)."""
        try:
            self.queue.put_nowait(delivery)
        except queue.Full:
            return False
        return True

    def request_stop(self) -> None:
        """Ask the thread to stop after what it is doing (see ``stop``)."""
        self._stop.set()

    def stop(self, timeout_s: float) -> None:
        """Ask the thread to stop after the attempt in flight; wait up to ``timeout_s``."""
        self._stop.set()
        self._thread.join(timeout_s)

    def snapshot(self) -> tuple[datetime | None, str, datetime | None]:
        """Last success time, last error and its time (for the channel status row)."""
        with self._lock:
            return self.last_sent_at, self.last_error, self.last_error_at

    def _run(self) -> None:
        conn = connect(self._db_path)
        try:
            while not self._stop.is_set():
                try:
                    delivery = self.queue.get(timeout=0.2)
                except queue.Empty:
                    continue
                try:
                    self.deliver(conn, delivery)
                except Exception:  # a bug or a locked database must not end the thread
                    logger.exception("alert %s on %s failed", delivery.alert_id,
                                     self.channel.value)
        finally:
            conn.close()

    def deliver(self, conn, delivery: DeliveryRow) -> DeliveryStatus | None:
        """Send one delivery (all its parts); return how it ended (None: stopped midway)."""
        cfg = self._config()
        self.limiter.per_minute = cfg.per_minute[self.channel]
        age = self._wall_clock() - delivery.created_at
        if age > timedelta(minutes=cfg.max_age_minutes):
            reason = f"not sent: {age.total_seconds() / 60:.0f} min old (max_age_minutes)"
            return self._finish(conn, delivery, DeliveryStatus.DROPPED, 0, 1, reason)
        measure = sent_length_telegram if self.channel is Channel.TELEGRAM else len
        parts = split_text(delivery.text, self.channel.max_message_chars, measure=measure)
        title = delivery.text.split("\n", 1)[0] if self.channel is Channel.EMAIL else ""
        silent = delivery.level == AlertLevel.SILENT.value
        attempts = 0
        for number, part in enumerate(parts, 1):
            for attempt in range(1, cfg.max_attempts + 1):
                if self._wait_rate():
                    return None
                self.limiter.record()
                started = time.perf_counter()
                ok, error = self.transport.send(part, title, silent)
                latency_ms = (time.perf_counter() - started) * 1000
                attempts += 1
                with write_transaction(conn):
                    alerts_store.record_attempt(conn, delivery.alert_id, attempt, number,
                                                self._wall_clock(), ok, latency_ms, error)
                if ok:
                    break
                self._note_error(error)
                logger.warning("%s alert %s part %d attempt %d failed: %s", self.channel.value,
                               delivery.alert_id, number, attempt, error)
                if attempt == cfg.max_attempts:
                    reason = f"part {number}/{len(parts)}: {error}"
                    return self._finish(conn, delivery, DeliveryStatus.FAILED, attempts,
                                        len(parts), reason)
                if self._stop.wait(backoff_s(attempt, cfg.retry_initial_s, cfg.retry_max_s)):
                    return None
        with self._lock:
            self.last_sent_at = self._wall_clock()
        return self._finish(conn, delivery, DeliveryStatus.SENT, attempts, len(parts), "")

    def _wait_rate(self) -> bool:
        """Sleep while the window is full (the limit may be lowered meanwhile); True = stop."""
        try:
            while (wait_s := self.limiter.wait_s()) > 0:
                self.rate_limited.set()
                if self._stop.wait(min(wait_s, 0.2)):
                    return True
        finally:
            self.rate_limited.clear()
        return False

    def _note_error(self, error: str) -> None:
        with self._lock:
            self.last_error, self.last_error_at = error, self._wall_clock()

    def _finish(self, conn, delivery: DeliveryRow, status: DeliveryStatus, attempts: int,
                parts: int, error: str) -> DeliveryStatus:
        with write_transaction(conn):
            alerts_store.finish_delivery(conn, delivery.alert_id, status, attempts, parts, error,
                                         self._wall_clock())
        return status

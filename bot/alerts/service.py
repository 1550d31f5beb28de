"""The alerter process (``python -m bot alerts``): follow the journal, queue, send, report.

Why a process of its own: the trading loop stays exactly as it is (it only journals what it
already journals), and no channel, however slow or dead, can add a microsecond to a bar. The
alerter reads the same config file as the bot (levels and limits apply on its next poll) and
the channel URLs from its environment. Every poll, in one transaction: the new alerts become
``alerts`` rows (one per channel whose level is not ``off``) together with the journal
watermarks they came from; then each row goes to its channel's sender thread.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from bot.alerts.channels import ChannelSetup, command_chats, load_channels
from bot.alerts.follower import JournalFollower
from bot.alerts.health import HealthWatch
from bot.alerts.messages import Alert
from bot.alerts.sender import ChannelSender
from bot.alerts.summary import poll_summary
from bot.alerts.telegram_poll import TelegramPoller
from bot.ports import wall_clock_utc
from shared.config.settings import AlertsConfig, Settings
from shared.domain.alerts import AlertLevel, Channel, DeliveryStatus
from shared.domain.errors import ConfigError
from shared.persistence import alerts_store, config_source, ops_store
from shared.persistence.alerts_store import Delivery, DeliveryRow
from shared.persistence.db import open_database, write_transaction

logger = logging.getLogger(__name__)

STATUS_EVERY_S = 2.0
CHANNELS = {channel.value: channel for channel in Channel}
STOP_WAIT_S = 3.0
MARKS_EVERY_S = 5.0  # watermarks of polls that raised nothing are stored this often


class Alerter:
    """Owns the follower, the senders and the optional Telegram command bot."""

    def __init__(
        self, settings: Settings, db_path: Path, env: Mapping[str, str],
        config_path: Path | None = None, wall_clock: Callable[[], datetime] = wall_clock_utc,
    ) -> None:
        self.settings = settings
        self.db_path = db_path
        self.config_path = config_path
        self.wall_clock = wall_clock
        self.conn = open_database(db_path)
        self.channels: dict[Channel, ChannelSetup] = load_channels(env, settings.alerts)
        self.senders = {
            channel: ChannelSender(channel, setup.transport, db_path, lambda: self.cfg,
                                   wall_clock)
            for channel, setup in self.channels.items() if setup.transport is not None
        }
        self.follower = JournalFollower(self.conn, wall_clock)
        self.health = HealthWatch(self.conn, wall_clock, env)
        self.commands: TelegramPoller | None = None
        self.commands_problem = ""
        self._setup_commands(env)
        self._config_version = ops_store.active_config_version_id(self.conn)
        self._last_status_s = float("-inf")
        self._status_written: tuple = ()
        self._unsaved_marks: dict[str, str] = {}
        self._marks_saved_s = time.monotonic()
        self.stop_requested = threading.Event()
        self._closed = False

    @property
    def cfg(self) -> AlertsConfig:
        """The alerts section in force (reloaded with the config file)."""
        return self.settings.alerts

    def _setup_commands(self, env: Mapping[str, str]) -> None:
        telegram = self.channels[Channel.TELEGRAM]
        if not self.cfg.telegram_commands:
            return
        allowed, problem = command_chats(env)
        if telegram.transport is None or not telegram.bot_token:
            self.commands_problem = f"commands need a Telegram channel: {telegram.problem}"
        elif problem:
            self.commands_problem = problem
        if self.commands_problem:
            logger.warning("telegram commands off: %s", self.commands_problem)
            return
        self.commands = TelegramPoller(self.cfg.telegram_api_url, telegram.bot_token,
                                       telegram.redact, allowed, self.db_path, self.wall_clock)

    def start(self) -> None:
        """Set first-start watermarks, re-queue unfinished deliveries, start the threads."""
        with write_transaction(self.conn):
            for name, value in self.follower.initial_watermarks().items():
                alerts_store.set_state(self.conn, name, value, self.wall_clock())
        unfinished = alerts_store.deliveries_with_status(self.conn, DeliveryStatus.QUEUED)
        for sender in self.senders.values():
            sender.start()
        self._dispatch(unfinished)
        if self.commands is not None:
            self.commands.start()
        self._write_status(force=True)
        configured = [c.value for c in self.senders] or ["none"]
        logger.info("alerter running: channels %s; commands %s", ", ".join(configured),
                    "on" if self.commands else "off")

    def poll_once(self) -> int:
        """One pass: reload config, read the journal, raise and dispatch; return alerts raised."""
        self._reload_config()
        alerts, marks = self.follower.poll(self.cfg)
        alerts += self.health.poll(self.settings)
        summary, summary_marks = poll_summary(self.conn, self.settings.feed.bar_seconds,
                                              self.wall_clock())
        stored = self._store(alerts + summary, {**marks, **summary_marks})
        requested = []
        if alerts_store.deliveries_with_status(self.conn, DeliveryStatus.REQUESTED, 1):
            with write_transaction(self.conn):
                requested = alerts_store.claim_requested(self.conn)
        self._dispatch(stored + requested)
        self._write_status()
        return len(alerts) + len(summary)

    def _store(self, alerts: list[Alert], marks: dict[str, str]) -> list[DeliveryRow]:
        now = self.wall_clock()
        rows: list[DeliveryRow] = []
        self.follower.advance(marks)
        self._unsaved_marks.update(marks)
        due = time.monotonic() - self._marks_saved_s >= MARKS_EVERY_S
        if not alerts and not (due and self._unsaved_marks):
            return rows  # nothing to record now: no write transaction (the bot writes freely)
        marks, self._unsaved_marks = self._unsaved_marks, {}
        self._marks_saved_s = time.monotonic()
        with write_transaction(self.conn):
            for alert in alerts:
                for channel in self.senders:
                    level = getattr(self.cfg, channel.value).get(alert.kind, AlertLevel.OFF)
                    if level is AlertLevel.OFF:
                        continue
                    delivery = Delivery(str(alert.kind), alert.key, channel.value, level.value,
                                        alert.text, alert.event_ts, now)
                    alert_id = alerts_store.insert_delivery(self.conn, delivery)
                    if alert_id is not None:  # None: raised before (a restart re-reading)
                        rows.append(delivery.as_row(alert_id))
            for name, value in marks.items():
                alerts_store.set_state(self.conn, name, value, now)
        return rows

    def _dispatch(self, deliveries: list[DeliveryRow]) -> None:
        for delivery in deliveries:
            channel = CHANNELS.get(delivery.channel)
            sender = self.senders.get(channel) if channel else None
            if sender is not None and sender.offer(delivery):
                continue
            reason = ("queue full" if sender is not None else self.channels[channel].problem
                      if channel else f"unknown channel {delivery.channel!r}")
            logger.warning("alert %s on %s dropped: %s", delivery.alert_id, delivery.channel,
                           reason)
            with write_transaction(self.conn):
                alerts_store.finish_delivery(self.conn, delivery.alert_id,
                                             DeliveryStatus.DROPPED, 0, 0, reason,
                                             self.wall_clock())

    def _reload_config(self) -> None:
        """Follow the active config version (the config's one source), as the bot does."""
        version_id = ops_store.active_config_version_id(self.conn)
        if version_id is None or version_id == self._config_version:
            return
        self._config_version = version_id
        try:
            loaded = config_source.active_settings(self.conn, os.environ)
        except ConfigError as exc:
            logger.error("config rejected, keeping the alert settings in force: %s", exc)
            return
        if loaded is not None:
            self.settings = loaded[1]
            logger.info("config version %s loaded: alert levels and limits updated", version_id)

    def _write_status(self, force: bool = False) -> None:
        """Channel rows for the page: written when they change (checked every 2 s)."""
        now_s = time.monotonic()
        if not force and now_s - self._last_status_s < STATUS_EVERY_S:
            return
        self._last_status_s = now_s
        now = self.wall_clock()
        statuses = []
        for channel, setup in self.channels.items():
            sender = self.senders.get(channel)
            sent_at, error, error_at = sender.snapshot() if sender else (None, "", None)
            problem = setup.problem
            if channel is Channel.TELEGRAM and self.commands_problem:
                problem = (problem + "; " if problem else "") + self.commands_problem
            statuses.append(alerts_store.ChannelStatus(
                channel.value, sender is not None, setup.masked_url, problem,
                sender.queue.qsize() if sender else 0, sent_at, error, error_at, now))
        key = tuple(replace(status, updated_at=None) for status in statuses)
        if key == self._status_written and not force:
            return
        with write_transaction(self.conn):
            for status in statuses:
                alerts_store.upsert_channel_status(self.conn, status)
        self._status_written = key

    def run(self) -> int:
        """Poll until ``stop_requested``; return 0."""
        self.start()
        try:
            while not self.stop_requested.is_set():
                try:
                    self.poll_once()
                except Exception:  # a locked database or a bad row: log, keep following
                    logger.exception("alerter poll failed; retrying")
                self.stop_requested.wait(self.cfg.poll_seconds)
        finally:
            self.close()
        return 0

    def close(self) -> None:
        """Stop the threads (unfinished deliveries stay queued for the next start); idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._unsaved_marks:
            with write_transaction(self.conn):
                for name, value in self._unsaved_marks.items():
                    alerts_store.set_state(self.conn, name, value, self.wall_clock())
        for sender in self.senders.values():
            sender.request_stop()
        if self.commands is not None:
            self.commands.request_stop()
        deadline = time.monotonic() + STOP_WAIT_S
        for sender in self.senders.values():
            sender.stop(max(0.0, deadline - time.monotonic()))
        if self.commands is not None:
            self.commands.stop(max(0.0, deadline - time.monotonic()))
        self.conn.close()
        logger.info("alerter stopped")


def run_alerter(settings: Settings, db_path: Path, env: Mapping[str, str],
                config_path: Path | None) -> int:
    """The ``python -m bot alerts`` entry: run until SIGTERM/SIGINT."""
    alerter = Alerter(settings, db_path, env, config_path)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: alerter.stop_requested.set())
    return alerter.run()

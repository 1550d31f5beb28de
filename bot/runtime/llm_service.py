"""The live bot's LLM glue: detector after each bar (sentiment moves too), results and headlines.

Everything here runs on the loop and only touches queues, the detector and the engine's bias
state, so a bar never waits for a model. With ``llm.enabled: false`` nothing runs at all.
A trigger starts its cooldown only once the worker accepted it; one dropped (queue full, or no
decision yet to describe the market) is logged and journaled as ``llm_trigger_dropped`` once
until its kind goes out again. Prompts describe this run's latest decision only, never an older
run's journal.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.core.engine import TradingEngine
from bot.core.llm_bias import state_from_reply
from bot.llm.analyst import AnalysisOutcome, outcome_summary
from bot.llm.context import build_request
from bot.llm.detector import EventDetector
from bot.llm.prompt_sections import extras_from_engine
from bot.llm.snapshot import record_as_row, snapshot_from_decision
from bot.llm.types import CallStatus, Trigger, TriggerKind
from bot.llm.worker import LlmWorker
from bot.runtime.llm_gate_service import send_asks, take_answer
from bot.runtime.llm_ledger import JournalLedger
from shared.config.settings import Settings
from shared.domain.errors import CommandRejected
from shared.domain.models import DecisionRecord
from shared.persistence import codec, llm_state, rules_store
from shared.persistence.db import write_transaction

logger = logging.getLogger(__name__)

NO_DECISION = "no decision yet: the bot has not evaluated a bar; try again in a few seconds"
QUEUE_FULL = "the LLM queue is full; try again shortly"


class LlmService:
    """Owns the detector and the worker for one live bot."""

    def __init__(
        self, settings: Settings, conn: sqlite3.Connection, db_path: Path,
        engine: TradingEngine, wall_clock: Callable[[], datetime],
        worker: LlmWorker | None = None,
    ) -> None:
        self.settings = settings
        self.conn = conn
        self.engine = engine
        self.wall_clock = wall_clock
        self.enabled = settings.llm.enabled
        self.detector = EventDetector(settings.events, engine.clock, engine.bar_length)
        self.worker = worker
        if self.enabled and self.worker is None:
            self.worker = LlmWorker(db_path, settings.llm, wall_clock)
        if self.enabled and self.worker is not None:
            self.worker.start()
        self.last_record: DecisionRecord | None = None
        self._news_id = llm_state.last_news_id(conn) if self.enabled else 0
        self._next_news_s = 0.0
        self._state_written: tuple[Any, ...] = ()
        self._dropped: set[TriggerKind] = set()
        self._ledger: JournalLedger | None = None  # read only with llm.skill_scaled

    def apply_settings(self, settings: Settings) -> None:
        """Hot-reloaded event and LLM settings (mode, bounds, limits, triggers)."""
        self.settings = settings
        self.detector.apply_settings(settings.events)
        if self.worker is not None:
            self.worker.apply_settings(settings.llm)

    def after_bar(self, record: DecisionRecord) -> None:
        """Run the detector on the bar just decided and queue any triggers."""
        self.last_record = record
        send_asks(self.engine, self._submit, self.enabled)  # the per-signal gate (llm.gate)
        if not self.enabled:
            return
        for trigger in self.detector.on_bar(record.ts, self.engine.last_features):
            self._submit(trigger)
        sentiment = self.engine.last_sentiment
        if sentiment is not None and self.engine.sentiment_book:  # no headline: 0 then and now
            earlier = self.engine.sentiment_at(record.ts - self.detector.sentiment_lookback) or 0.0
            for trigger in self.detector.on_sentiment(record.ts, sentiment, earlier):
                self._submit(trigger)

    def manual(self, payload: dict[str, Any], command_id: int, now: datetime) -> str:
        """Queue a manual analysis for a ``trigger_llm`` command; return the command's message.

        Raises ``CommandRejected`` with the user's answer when it cannot be queued now.
        """
        if not self.enabled or self.worker is None:
            raise CommandRejected("the LLM is off in this bot (llm.enabled: false)")
        clean = {k: str(payload.get(k) or "")[:2000] for k in ("notes", "context")}
        dropped = self._submit(self.detector.manual(now, clean, command_id))
        if dropped is not None:
            raise CommandRejected(dropped)
        return "analysis queued; the result follows in this row and on the LLM page"

    def service(self) -> int:
        """Collect finished analyses and new headlines; return how many things happened."""
        if not self.enabled or self.worker is None:
            return 0
        handled = 0
        for outcome in self.worker.results():
            self._apply(outcome)
            handled += 1
        now_s = time.monotonic()
        if now_s >= self._next_news_s:
            self._next_news_s = now_s + self.settings.events.news_poll_seconds
            news = llm_state.news_after(self.conn, self._news_id)
            if news:
                self._news_id = int(news[-1]["id"])
                headlines = [str(n["headline"]) for n in news]
                for trigger in self.detector.on_headlines(headlines, self._now()):
                    self._submit(trigger)
                    handled += 1
        self._write_state()
        return handled

    def stop(self) -> None:
        """Stop the worker thread (an in-flight call is abandoned)."""
        if self.worker is not None:
            self.worker.stop()

    def _now(self) -> datetime:
        last = self.engine.last_bar
        return last.ts + self.engine.bar_length if last is not None else self.wall_clock()

    def _submit(self, trigger: Trigger) -> str | None:
        """Queue a trigger; None when the worker took it, else why it was dropped."""
        record, worker = self.last_record, self.worker
        if worker is None:
            return "the LLM is off in this bot (llm.enabled: false)"
        if record is None:
            return self._dropped_because(trigger, NO_DECISION)
        snapshot = snapshot_from_decision(
            record_as_row(record), self.engine.broker.position(),
            self.engine.risk_state.realized_today_cents, self.conn,
            self.settings.llm.recent_trades_in_prompt, extras_from_engine(self.engine, record.ts),
        )
        if not worker.submit(build_request(trigger, snapshot, self._lessons())):
            return self._dropped_because(trigger, QUEUE_FULL)
        self.detector.mark_fired(trigger)
        self._dropped.discard(trigger.kind)
        self._journal_trigger(trigger, "llm_trigger", "info", f"LLM trigger {trigger.kind.value}")
        return None

    def _lessons(self) -> tuple[str, ...]:
        """The latest review lessons for the prompt (``learning.lessons_in_prompt``)."""
        count = self.settings.learning.lessons_in_prompt
        if count <= 0:
            return ()
        return tuple(lesson.text for lesson in rules_store.lessons(self.conn, count))

    def _dropped_because(self, trigger: Trigger, reason: str) -> str:
        """Log and journal a dropped trigger (once per kind until one goes out); no cooldown."""
        if trigger.kind not in self._dropped:
            self._dropped.add(trigger.kind)
            logger.warning("LLM %s trigger dropped: %s", trigger.kind.value, reason)
            self._journal_trigger(trigger, "llm_trigger_dropped", "warning",
                                  f"LLM trigger {trigger.kind.value} dropped: {reason}")
        return reason

    def _journal_trigger(self, trigger: Trigger, kind: str, severity: str, message: str) -> None:
        detail = {"trigger": trigger.kind.value, **trigger.payload}
        if trigger.command_id is not None:
            detail["command_id"] = trigger.command_id
        self.engine.journal.record_event(trigger.ts, kind, severity, message, detail)
        self.engine.journal.flush()

    def _apply(self, outcome: AnalysisOutcome) -> None:
        now = self._now()
        take_answer(self.engine, outcome, now)  # a candidate's answer decides it next bar
        journal = self.engine.journal
        if outcome.reply is not None and outcome.status in (CallStatus.OK, CallStatus.CACHED):
            self.engine.set_llm_bias(state_from_reply(
                outcome.reply, now, self.settings.llm.bias_ttl_minutes, outcome.call_id,
                self._skill(now)))
        severity = "info" if outcome.reply is not None else "warning"
        summary = outcome_summary(outcome)
        journal.record_event(now, "llm_result", severity, summary, {
            "trigger": outcome.trigger.kind.value, "call_id": outcome.call_id,
            "status": outcome.status.value, "cost_usd": outcome.cost_usd})
        for warning in outcome.warnings:
            journal.record_event(now, "llm_quota", "warning", warning, {})
        journal.flush()
        if outcome.trigger.command_id is not None:
            with write_transaction(self.conn):
                llm_state.set_command_result(self.conn, outcome.trigger.command_id, summary)

    def _skill(self, now: datetime) -> float:
        """The model's measured skill at engine time ``now`` (1.0 unless skill-scaled)."""
        cfg = self.settings.llm
        if not cfg.skill_scaled:
            return 1.0
        if self._ledger is None:
            self._ledger = JournalLedger(self.conn)
        return self._ledger.skill_at(now, cfg.skill_min_calls)

    def _write_state(self) -> None:
        worker = self.worker
        if worker is None:
            return
        bias = self.engine.llm_bias
        live = bias if bias is not None and self._now() < bias.expires_at else None
        llm, (available, reason) = self.settings.llm, worker.availability
        # compared before anything is formatted: the row is written only when it changed
        key = (llm.provider, worker.model, available, reason, llm.mode,
               (live.bias, live.confidence, live.expires_at) if live else None)
        if key == self._state_written:
            return
        row = {
            "provider": llm.provider, "model": worker.model,
            "available": int(available), "reason": reason, "mode": llm.mode,
            "bias": live.bias.value if live else "neutral",
            "bias_confidence": live.confidence if live else None,
            "bias_expires_at": codec.to_text(live.expires_at) if live else None,
        }
        updated_at = codec.to_text(self.wall_clock())
        with write_transaction(self.conn):
            llm_state.write_state(self.conn, {"updated_at": updated_at, **row})
        self._state_written = key

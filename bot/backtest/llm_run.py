"""The LLM in a backtest: replies put in force at the bars they reached, as the live bot does.

Whatever the source (``--llm replay``: the live journal; ``record``/``replay-cache``: answers at
detector triggers), a reply becomes an ``LlmBiasState`` handed to the engine through
``TradingEngine.set_llm_bias`` — the method the live LLM service uses — before the first
decision made after the reply arrived. No look-ahead: a decision at bar close ``t`` sees only
replies that arrived before ``t``. Like live, the state is issued at the engine's time when
the reply came in (the close of the latest bar by then) and expires ``llm.bias_ttl_minutes``
later; ``llm.mode`` decides what it does (the engine's ``llm_influence``).

The hook also keeps what attribution needs: the LLM adjustment of each entry decision and the
gross P&L of the entries it skipped (the engine's shadow brackets, followed to their exits).
"""

from __future__ import annotations

import heapq
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import numpy as np

from bot.adapters.journal import MemoryJournal
from bot.backtest.data import BarData
from bot.backtest.llm_gate_replay import GateReplay
from bot.backtest.llm_skill import BacktestLedger
from bot.core.engine import TradingEngine
from bot.core.llm_bias import LlmBiasState, state_from_reply
from bot.core.llm_reply import LlmReply
from bot.llm.types import Trigger
from shared.config.settings import Settings
from shared.domain.attribution import EntryOutcome, attribute
from shared.domain.models import DecisionRecord, TradeRecord, Verdict

logger = logging.getLogger(__name__)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SHADOW_EXIT = "llm_shadow_exit"


def epoch_ns(ts: datetime) -> int:
    """A tz-aware time as integer nanoseconds since the epoch (exact to the microsecond)."""
    return (ts - EPOCH) // timedelta(microseconds=1) * 1000


def due_index(data: BarData, arrival: datetime) -> int:
    """The first bar whose decision (made at its close) comes after ``arrival``."""
    threshold = epoch_ns(arrival) - data.bar_seconds * 1_000_000_000
    return int(np.searchsorted(data.ts_ns, threshold, side="right"))


def engine_time_at(data: BarData, arrival: datetime) -> datetime:
    """The engine's time when a reply arrived: the close of the latest bar by then.

    Before the first bar there is no engine time yet, and the arrival itself is used.
    """
    index = due_index(data, arrival)
    if index == 0:
        return arrival
    return data.ts(index - 1) + timedelta(seconds=data.bar_seconds)


class TriggerAnswers(Protocol):
    """Answers at detector triggers (``record``: governed calls; ``replay-cache``: the cache)."""

    triggers: dict[int, tuple[Trigger, ...]]

    def answer(self, engine: TradingEngine, record: DecisionRecord, trigger: Trigger
               ) -> tuple[LlmReply | None, int]:
        """The reply to the prompt this decision gives (or None) and its call id."""
        ...

    def counts(self) -> dict[str, Any]:
        """What the answers cost and where they came from (``llm_*`` metrics)."""
        ...

    def close(self) -> None:
        """Release the database."""
        ...


@dataclass(order=True, frozen=True, slots=True)
class _Due:
    index: int
    seq: int
    state: LlmBiasState = field(compare=False)


@dataclass(frozen=True, slots=True)
class LlmRunSummary:
    """What the LLM did in one run (before attribution, which needs the settled trades)."""

    source: str
    mode: str
    replies: int
    applied: int
    nudged_decisions: int
    vetoed_decisions: int
    entry_adjustments: dict[str, float]
    shadow_pnls_cents: tuple[int, ...]
    counts: dict[str, Any]


class BacktestLlm:
    """Feeds one backtest's engine its LLM bias bar by bar, from one source of replies."""

    def __init__(self, data: BarData, settings: Settings, source: str,
                 answers: TriggerAnswers | None = None, latency_s: float = 0.0) -> None:
        self.data = data
        self.source = source
        self.mode = settings.llm.mode
        self.ttl_minutes = settings.llm.bias_ttl_minutes
        self.answers = answers
        self.triggers = answers.triggers if answers is not None else {}
        self._trigger_bars = np.array(sorted(self.triggers), dtype=np.int64)
        self.latency = timedelta(seconds=latency_s)
        self._due: list[_Due] = []
        self._seq = 0
        self.replies = 0
        self.applied = 0
        self.nudged = 0
        self.vetoed = 0
        self.entries: dict[str, float] = {}
        self.source_cost_usd = 0.0  # what the replayed replies cost when they were bought
        self._inputs: bool | None = None
        self.skill_scaled = settings.llm.skill_scaled
        # the calibration ledger of the answers at triggers (none for a journal replay)
        self.ledger = BacktestLedger(data, settings.llm) if answers is not None else None
        self._model = str(getattr(answers, "identity", ("", source))[-1])
        self.gate: GateReplay | None = None  # the live gate's answers (--llm replay only)

    # --- replies ----------------------------------------------------------------------------

    def add_reply(self, reply: LlmReply, arrival: datetime, call_id: int,
                  engine_time: datetime | None = None, skill: float = 1.0) -> None:
        """A reply that arrived at ``arrival``; ``engine_time`` when a live bot journaled it.

        It is issued at ``engine_time`` (else the engine's time at the arrival) and counts
        from the first decision after the arrival.
        """
        self.replies += 1
        index = due_index(self.data, arrival)
        if index >= len(self.data):
            return
        issued = engine_time if engine_time is not None else engine_time_at(self.data, arrival)
        state = state_from_reply(reply, issued, self.ttl_minutes, call_id, skill)
        heapq.heappush(self._due, _Due(index, self._seq, state))
        self._seq += 1

    # --- the engine-run hook ----------------------------------------------------------------

    def next_bar(self, index: int, target: int | None, engine: TradingEngine) -> int | None:
        """The next bar to evaluate: ``target`` (the skip logic's), or earlier for a trigger.

        The run fast-forwards skipped entries' shadows over the bars before the bar returned
        here (``engine_run._follow_shadows``, called after this), so no bar reaches one twice.
        """
        if self.gate is not None and self.gate.held:
            return index  # a held candidate: the bar deciding it must be evaluated
        if target is None or not len(self._trigger_bars):
            return target  # nothing can happen any more: no trigger is worth a call
        found = int(np.searchsorted(self._trigger_bars, index))
        if found < len(self._trigger_bars):
            return min(target, int(self._trigger_bars[found]))
        return target

    def needs_features(self, index: int) -> bool:
        """Whether bar ``index`` needs its exact features (a trigger's prompt shows them)."""
        return index in self.triggers or (self.gate is not None and self.gate.held)

    def before_bar(self, engine: TradingEngine, index: int) -> None:
        """Put in force every reply that arrived before this bar's decision (latest wins)."""
        while self._due and self._due[0].index <= index:
            engine.set_llm_bias(heapq.heappop(self._due).state)
            self.applied += 1
        if self.gate is not None:
            self.gate.before_bar(engine, index)
        if index in self.triggers:  # the prompt describes this decision: journal its inputs
            self._inputs = engine.journal_inputs
            engine.journal_inputs = True

    def after_bar(self, engine: TradingEngine, index: int, record: DecisionRecord) -> None:
        """Note the LLM's part in the decision; at a trigger, get the answer and schedule it."""
        if record.llm_adjustment:
            self.nudged += 1
        if record.risk_rule == "llm_consensus":
            self.vetoed += 1
        if record.verdict is Verdict.ENTER and record.bracket_id:
            self.entries[record.bracket_id] = record.llm_adjustment
        if self.gate is not None:
            self.gate.after_bar(engine)
        triggers = self.triggers.get(index)
        if not triggers or self.answers is None:
            return
        if self._inputs is not None:
            engine.journal_inputs, self._inputs = self._inputs, None
        for trigger in triggers:
            reply, call_id = self.answers.answer(engine, record, trigger)
            if reply is None:
                continue
            arrival = trigger.ts + self.latency
            skill = 1.0
            if self.ledger is not None:
                if self.skill_scaled:
                    skill = self.ledger.skill_at(engine_time_at(self.data, arrival))
                self.ledger.note(reply, record.ts, trigger.kind.value, self._model, call_id)
            self.add_reply(reply, arrival, call_id, skill=skill)

    def close(self) -> None:
        """Release the answers' database (if any)."""
        if self.answers is not None:
            self.answers.close()

    def finish(self, journal: MemoryJournal) -> LlmRunSummary:
        """The run's LLM summary (shadow exits come from the journal's events)."""
        shadows = tuple(int(detail["pnl_cents"]) for _, kind, _, _, detail in journal.events
                        if kind == SHADOW_EXIT)
        counts = {"llm_source_cost_usd": round(self.source_cost_usd, 6)}
        if self.answers is not None:
            counts.update(self.answers.counts())
        if self.ledger is not None:
            counts.update(self.ledger.metrics())
        return LlmRunSummary(self.source, self.mode, self.replies, self.applied, self.nudged,
                             self.vetoed, dict(self.entries), shadows, counts)


def llm_metrics(summary: LlmRunSummary, trades: list[TradeRecord]) -> dict[str, Any]:
    """The run's ``llm_*`` metrics: source, mode, replies, calls and dollars, attribution."""
    entries = [
        EntryOutcome(summary.entry_adjustments[t.bracket_id],
                     t.labels.get("verdict_without_llm", "enter"), t.pnl_net_cents)
        for t in trades if t.bracket_id in summary.entry_adjustments
    ]
    figures = attribute(entries, summary.shadow_pnls_cents)
    metrics: dict[str, Any] = {
        "llm_source": summary.source, "llm_mode": summary.mode,
        "llm_replies": summary.replies, "llm_replies_applied": summary.applied,
        "llm_nudged_decisions": summary.nudged_decisions,
        "llm_vetoed_decisions": summary.vetoed_decisions,
        "llm_calls": 0, "llm_cost_usd": 0.0,
    }
    metrics.update(summary.counts)
    metrics.update({f"llm_{name}": value for name, value in (
        ("enabled_trades", figures.enabled_trades), ("enabled_pnl_usd", figures.enabled_pnl_usd),
        ("vetoed_shadows", figures.vetoed), ("avoided_loss_usd", figures.avoided_loss_usd),
        ("missed_gain_usd", figures.missed_gain_usd), ("agreed_trades", figures.agreed_trades),
        ("agreed_win_rate", figures.agreed_win_rate),
        ("disagreed_trades", figures.disagreed_trades),
        ("disagreed_win_rate", figures.disagreed_win_rate))})
    return metrics

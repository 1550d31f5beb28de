"""The per-signal LLM gate (``llm.gate: candidates``): a pure state machine over engine time.

When risk approved an entry, the engine asks the gate about that candidate. The gate never calls a
model: it queues a question (``take_asks``) that the runtime sends through the governed worker
(live) or answers from recorded replies (backtest), and is handed the answer between bars
(``give``). Until then the candidate is held (with the engine's entry request, re-planned at the
bar it is decided) at most ``gate_wait_bars`` bars, whether or not the signal fires again; an
opposite candidate replaces it. Then, or when the call failed, the fail mode decides (``open``:
trade on technicals, ``closed``: skip). A signal at least ``gate_decisive_confidence`` sure is not
asked. A side is asked at most once per ``gate_cooldown_minutes`` (its last answer stands
meanwhile) and ``gate_max_per_hour`` questions at most. An answer against the candidate at
``gate_refuse_confidence`` or more refuses it; anything else lets it go (the bias the answer put in
force gives the usual nudge). Same inputs, same verdicts: live and backtest agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from bot.core.llm_bias import agrees
from shared.config.settings import LlmConfig
from shared.domain.models import Action, Bias, Side

GATE_RULE = "llm_gate"  # the rule recorded when the model's answer refuses the candidate
GATE_WAIT_RULE = "llm_gate_wait"  # the candidate waits for its answer (no entry this bar)
GATE_FAIL_RULE = "llm_gate_fail_closed"  # no answer in time, fail mode closed
HOUR = timedelta(hours=1)
MAX_OUTBOX = 32  # questions kept for the runtime at most (it drains them after every bar)


class GateStep(StrEnum):
    """What the gate lets the candidate do on this bar."""

    ENTER = "enter"
    WAIT = "wait"
    REFUSE = "refuse"


@dataclass(frozen=True, slots=True)
class GateAsk:
    """A question for the model: the candidate's side, its bar time and signal confidence."""

    side: Side
    ts: datetime
    confidence: float


@dataclass(frozen=True, slots=True)
class GateAnswer:
    """The model's answer to one ask; ``bias`` None means the call failed (``error`` says why)."""

    side: Side
    asked_ts: datetime
    bias: Bias | None
    confidence: float = 0.0
    call_id: int = 0
    error: str = ""


@dataclass(frozen=True, slots=True)
class GateVerdict:
    """The gate's verdict on one bar's candidate: the step, the rule when not entering, a note."""

    step: GateStep
    rule: str | None
    note: str


@dataclass(slots=True)
class _Pending:
    ask: GateAsk
    request: Any  # the engine's entry request, re-planned when the candidate is decided


@dataclass(slots=True)
class LlmGate:
    """Pending candidate, answers received, and the asks the runtime has not sent yet."""

    bar_length: timedelta
    pending: _Pending | None = None
    asks_sent: list[datetime] = field(default_factory=list)  # ask times, for the hourly cap
    last_ask: dict[Side, datetime] = field(default_factory=dict)
    last_answer: dict[Side, GateAnswer] = field(default_factory=dict)
    _outbox: list[GateAsk] = field(default_factory=list)

    def take_asks(self) -> list[GateAsk]:
        """The questions queued since last asked (the runtime sends or answers each)."""
        asks, self._outbox = self._outbox, []
        return asks

    def give(self, answer: GateAnswer) -> None:
        """Take an answer (between bars); it decides the candidate on the next bar."""
        self.last_answer[answer.side] = answer

    def check(self, side: Side, confidence: float, now: datetime, cfg: LlmConfig,
              request: Any = None) -> GateVerdict:
        """The verdict on an entry risk approved at ``now`` (signal ``confidence``)."""
        if cfg.gate != "candidates":
            return GateVerdict(GateStep.ENTER, None, "")
        if confidence >= cfg.gate_decisive_confidence:
            return GateVerdict(GateStep.ENTER, None, f"llm gate: decisive signal "
                               f"{confidence:.2f} >= {cfg.gate_decisive_confidence:.2f}, not asked")
        pending = self.pending
        if pending is None or pending.ask.side is not side:
            self.pending = None  # an opposite candidate replaces the held one
            refusal = self._not_asking(side, now, cfg)
            if refusal is not None:
                return refusal
            pending = self._ask(side, confidence, now)
        pending.request = request  # re-proposed: the fresher request is the one held
        return self._decide(pending, now, cfg)

    def held(self, now: datetime, cfg: LlmConfig) -> tuple[GateVerdict, Any] | None:
        """On a bar without a candidate: the held candidate's verdict and entry request once
        its answer is in or its wait is over; None while it waits (or when none is held)."""
        pending = self.pending
        if pending is None or cfg.gate != "candidates":
            self.pending = None
            return None
        verdict = self._decide(pending, now, cfg)
        return None if verdict.step is GateStep.WAIT else (verdict, pending.request)

    def drop(self) -> None:
        """Forget the held candidate (the engine is no longer flat, or it was placed)."""
        self.pending = None

    def _decide(self, pending: _Pending, now: datetime, cfg: LlmConfig) -> GateVerdict:
        side = pending.ask.side
        answer = self.last_answer.get(side)
        if answer is not None and answer.asked_ts == pending.ask.ts:
            self.pending = None
            return _judge(answer, side, cfg, "")
        waited = int((now - pending.ask.ts) / self.bar_length)
        if waited >= cfg.gate_wait_bars:
            self.pending = None
            return _fail(cfg, f"no answer after {waited} bar(s)")
        return GateVerdict(GateStep.WAIT, GATE_WAIT_RULE, f"llm gate: waiting for the answer "
                           f"({waited + 1}/{cfg.gate_wait_bars} bars)")

    def _not_asking(self, side: Side, now: datetime, cfg: LlmConfig) -> GateVerdict | None:
        """The verdict when this side may not be asked now (cooldown, hourly cap), else None."""
        last = self.last_ask.get(side)
        if last is not None and now - last < timedelta(minutes=cfg.gate_cooldown_minutes):
            answer = self.last_answer.get(side)
            if answer is not None and answer.asked_ts == last:
                return _judge(answer, side, cfg, " (answer reused within the cooldown)")
            return _fail(cfg, "in the side's cooldown without an answer")
        self.asks_sent = [ts for ts in self.asks_sent if now - ts < HOUR]
        if len(self.asks_sent) >= cfg.gate_max_per_hour:
            return _fail(cfg, f"hourly cap of {cfg.gate_max_per_hour} questions reached")
        return None

    def _ask(self, side: Side, confidence: float, now: datetime) -> _Pending:
        ask = GateAsk(side, now, confidence)
        self._outbox = [*self._outbox[-(MAX_OUTBOX - 1):], ask]  # bounded if nobody drains it
        self.asks_sent.append(now)
        self.last_ask[side] = now
        self.pending = _Pending(ask, None)
        return self.pending


def _judge(answer: GateAnswer, side: Side, cfg: LlmConfig, suffix: str) -> GateVerdict:
    """Refuse on a confident disagreement; a failed call follows the fail mode."""
    if answer.bias is None:
        return _fail(cfg, f"call failed: {answer.error or 'no reply'}{suffix}")
    action = Action.BUY if side is Side.LONG else Action.SELL
    label = f"llm gate: {answer.bias.value} {answer.confidence:.2f} (call {answer.call_id})"
    if agrees(answer.bias, action) is False and answer.confidence >= cfg.gate_refuse_confidence:
        return GateVerdict(GateStep.REFUSE, GATE_RULE, f"{label} disagrees with {side.value} at "
                           f">= {cfg.gate_refuse_confidence:.2f}: refused{suffix}")
    return GateVerdict(GateStep.ENTER, None, f"{label} lets {side.value} go{suffix}")


def _fail(cfg: LlmConfig, why: str) -> GateVerdict:
    if cfg.gate_fail_mode == "open":
        return GateVerdict(GateStep.ENTER, None, f"llm gate: {why}; fail open, technicals trade")
    return GateVerdict(GateStep.REFUSE, GATE_FAIL_RULE, f"llm gate: {why}; fail closed, skipped")

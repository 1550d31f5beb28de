"""The per-signal LLM gate (``llm.gate: candidates``): a pure state machine over engine time.

When risk approved an entry, the engine asks the gate about that candidate. The gate never
calls a model: it queues a question (``take_asks``) that the runtime sends through the governed
worker (live) or answers from recorded replies (backtest), and is handed the answer between
bars (``give``). Until then the candidate waits, re-proposed bar by bar, at most
``gate_wait_bars`` bars; then, or when the call failed, the fail mode decides (``open``: trade
on technicals, ``closed``: skip). A signal at least ``gate_decisive_confidence`` sure is not
asked. A side is asked at most once per ``gate_cooldown_minutes`` (its last answer stands
meanwhile) and ``gate_max_per_hour`` questions at most. An answer against the candidate at
``gate_refuse_confidence`` or more refuses it; anything else lets it go (the bias the answer
put in force gives the usual nudge). Same inputs, same verdicts: live and backtest agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from bot.core.llm_bias import agrees
from shared.config.settings import LlmConfig
from shared.domain.models import Action, Bias, Side

GATE_RULE = "llm_gate"  # the rule recorded when the model's answer refuses the candidate
GATE_WAIT_RULE = "llm_gate_wait"  # the candidate waits for its answer (no entry this bar)
GATE_FAIL_RULE = "llm_gate_fail_closed"  # no answer in time, fail mode closed
HOUR = timedelta(hours=1)


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
    bars_waited: int = 0
    last_seen: datetime | None = None


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

    def check(self, side: Side, confidence: float, now: datetime, cfg: LlmConfig) -> GateVerdict:
        """The verdict on an entry risk approved at ``now`` (signal ``confidence``)."""
        if cfg.gate != "candidates":
            return GateVerdict(GateStep.ENTER, None, "")
        if confidence >= cfg.gate_decisive_confidence:
            return GateVerdict(GateStep.ENTER, None, f"llm gate: decisive signal "
                               f"{confidence:.2f} >= {cfg.gate_decisive_confidence:.2f}, not asked")
        pending = self._current(side, now)
        if pending is None:
            refusal = self._not_asking(side, now, cfg)
            if refusal is not None:
                return refusal
            pending = self._ask(side, confidence, now)
        pending.last_seen = now
        answer = self.last_answer.get(side)
        if answer is not None and answer.asked_ts == pending.ask.ts:
            self.pending = None
            return _judge(answer, side, cfg, "")
        if pending.bars_waited >= cfg.gate_wait_bars:
            self.pending = None
            return _fail(cfg, f"no answer after {pending.bars_waited} bar(s)")
        pending.bars_waited += 1
        return GateVerdict(GateStep.WAIT, GATE_WAIT_RULE, f"llm gate: waiting for the answer "
                           f"({pending.bars_waited}/{cfg.gate_wait_bars} bars)")

    def _current(self, side: Side, now: datetime) -> _Pending | None:
        """The pending candidate if it is this side's and was proposed on the previous bar."""
        pending = self.pending
        if (pending is None or pending.ask.side is not side or pending.last_seen is None
                or now - pending.last_seen > self.bar_length):
            self.pending = None  # the signal went away or turned: that candidate lapsed
            return None
        return pending

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
        self._outbox.append(ask)
        self.asks_sent.append(now)
        self.last_ask[side] = now
        self.pending = _Pending(ask)
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

"""The live glue of the per-signal LLM gate: send the gate's questions, hand it the answers.

After each bar the gate's queued questions (``bot.core.llm_gate``) go to the governed worker as
``candidate`` triggers; one that cannot be queued (LLM off, queue full) is answered at once as a
failed call, so the candidate follows the fail mode instead of waiting. A finished analysis of a
``candidate`` trigger becomes the gate's answer for the next bar. Nothing here waits on a model.
Each answer is journaled (``llm_gate_answer``) with the reply's risk notes (its view on size,
stop or target, if any) as advisory only; stop, target and size always come from the risk rules.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from bot.core.engine import TradingEngine
from bot.core.llm_bias import state_from_reply
from bot.core.llm_gate import GateAnswer
from bot.llm.analyst import AnalysisOutcome
from bot.llm.types import CallStatus, Trigger, TriggerKind
from shared.domain.models import Side
from shared.persistence import codec
from shared.persistence.llm_gate_store import GATE_ANSWER_EVENT

logger = logging.getLogger(__name__)

LLM_OFF = "the LLM is off in this bot (llm.enabled: false)"


def send_asks(engine: TradingEngine, submit: Callable[[Trigger], str | None],
              enabled: bool) -> int:
    """Queue the gate's new questions via ``submit``; return how many were taken."""
    taken = 0
    for ask in engine.llm_gate.take_asks():
        trigger = Trigger(TriggerKind.CANDIDATE, ask.ts, {
            "side": ask.side.value, "signal_confidence": round(ask.confidence, 4)})
        dropped = submit(trigger) if enabled else LLM_OFF
        if dropped is None:
            taken += 1
            continue
        give(engine, GateAnswer(ask.side, ask.ts, None, error=dropped), ask.ts)
    return taken


def take_answer(engine: TradingEngine, outcome: AnalysisOutcome, now: datetime) -> bool:
    """Hand a ``candidate`` outcome to the gate (False for any other trigger) and journal it
    as ``llm_gate_answer`` (what a replay needs: the side, the ask's bar time, the answer)."""
    trigger = outcome.trigger
    if trigger.kind is not TriggerKind.CANDIDATE:
        return False
    side = Side(str(trigger.payload.get("side")))
    reply = outcome.reply
    if reply is None or outcome.status not in (CallStatus.OK, CallStatus.CACHED):
        answer = GateAnswer(side, trigger.ts, None, call_id=outcome.call_id,
                            error=outcome.error or outcome.status.value)
    else:
        state = state_from_reply(reply, now, 1.0, outcome.call_id)
        answer = GateAnswer(side, trigger.ts, state.bias, state.confidence, outcome.call_id)
    give(engine, answer, now, str(getattr(reply, "risk_notes", "") or ""))
    return True


def give(engine: TradingEngine, answer: GateAnswer, now: datetime, advisory: str = "") -> None:
    """Hand the gate an answer at engine time ``now`` and journal it (what a replay reads)."""
    engine.llm_gate.give(answer)
    view = answer.bias.value if answer.bias is not None else f"failed: {answer.error}"
    engine.journal.record_event(now, GATE_ANSWER_EVENT, "info", (
        f"LLM on the {answer.side.value} candidate of {answer.asked_ts:%H:%M:%S}: {view}"
        + (f"; advisory only, not used: {advisory}" if advisory else ""))[:300], {
        "side": answer.side.value, "asked_ts": codec.to_text(answer.asked_ts),
        "call_id": answer.call_id, "bias": answer.bias.value if answer.bias else None,
        "confidence": answer.confidence, "error": answer.error, "advisory": advisory[:500]})

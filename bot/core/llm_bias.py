"""How a validated LLM reply moves a decision: a bounded confidence nudge, or a consensus veto.

Pure functions over explicit state, shared by live and backtest. The LLM never touches stop,
target or size: the engine sizes from the pre-LLM confidence. An expired or absent bias is
neutral, so an unavailable LLM leaves the bot trading on technicals alone (unless consensus mode
runs with ``consensus_fail_mode: closed``: then no bias in force refuses every entry).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core.llm_reply import LlmReply
from shared.config.settings import LlmConfig
from shared.domain.models import Action, Bias

_REPLY_BIAS = {"BULLISH": Bias.BULLISH, "BEARISH": Bias.BEARISH, "NEUTRAL": Bias.NEUTRAL}
_REPLY_ACTION = {"BUY": Action.BUY, "SELL": Action.SELL, "HOLD": Action.HOLD}


@dataclass(frozen=True, slots=True)
class LlmBiasState:
    """The bias in force: from which call, how sure, and until when (engine time)."""

    bias: Bias
    confidence: float
    action: Action
    issued_at: datetime
    expires_at: datetime
    call_id: int
    skill: float = 1.0  # the model's measured skill when issued (used with llm.skill_scaled)


@dataclass(frozen=True, slots=True)
class LlmInfluence:
    """What the LLM does to one decision."""

    adjustment: float
    veto: bool
    bias: Bias
    note: str


NO_INFLUENCE = LlmInfluence(0.0, False, Bias.NEUTRAL, "")


def state_from_reply(
    reply: LlmReply, issued_at: datetime, ttl_minutes: float, call_id: int, skill: float = 1.0
) -> LlmBiasState:
    """The bias a reply puts in force from ``issued_at`` for ``ttl_minutes``.

    ``skill`` is the calibration ledger's measure when it was issued (from earlier calls).
    """
    return LlmBiasState(
        bias=_REPLY_BIAS[reply.bias.value], confidence=_unit(reply.confidence),
        action=_REPLY_ACTION[reply.action.value], issued_at=issued_at,
        expires_at=issued_at + timedelta(minutes=ttl_minutes), call_id=call_id,
        skill=_unit(skill),
    )


def _unit(value: float) -> float:
    if not isinstance(value, int | float) or not math.isfinite(value):
        return 0.0
    return min(1.0, max(0.0, float(value)))


def agrees(bias: Bias, action: Action) -> bool | None:
    """True if the bias points the signal's way, False if against, None if it has no view."""
    if bias is Bias.NEUTRAL or action is Action.HOLD:
        return None
    return (bias is Bias.BULLISH) == (action is Action.BUY)


def llm_influence(
    state: LlmBiasState | None, action: Action, now: datetime, cfg: LlmConfig
) -> LlmInfluence:
    """The confidence adjustment (and, in consensus mode, veto) for a signal at ``now``."""
    if state is None or now >= state.expires_at or cfg.mode == "disabled":
        return _no_bias(action, cfg)
    c = _unit(state.confidence)
    view = agrees(state.bias, action)
    label = f"llm {state.bias.value} {c:.2f}"
    if cfg.mode == "advisory":
        return LlmInfluence(0.0, False, state.bias, f"{label} (advisory only)")
    if cfg.mode == "consensus":
        if view is None and action is Action.HOLD:
            return LlmInfluence(0.0, False, state.bias, "")
        if view is True and c >= cfg.consensus_min_confidence:
            return LlmInfluence(0.0, False, state.bias, f"{label} agrees (consensus)")
        return LlmInfluence(0.0, True, state.bias,
                            f"{label} does not agree with >= {cfg.consensus_min_confidence:.2f}")
    scale = _unit(state.skill) if cfg.skill_scaled else 1.0
    if cfg.skill_scaled:
        label = f"{label} skill {scale:.2f}"
    if view is True:
        boost = min(_unit(cfg.max_boost), c * cfg.agree_scale) * scale
        return LlmInfluence(boost, False, state.bias, f"{label} agrees: +{boost:.3f}")
    if view is False:
        penalty = min(_unit(cfg.max_penalty), c * cfg.disagree_scale) * scale
        return LlmInfluence(-penalty, False, state.bias, f"{label} disagrees: -{penalty:.3f}")
    return LlmInfluence(0.0, False, state.bias, "")


def _no_bias(action: Action, cfg: LlmConfig) -> LlmInfluence:
    """No bias in force: neutral, except consensus with ``consensus_fail_mode: closed``."""
    if cfg.mode != "consensus" or cfg.consensus_fail_mode != "closed" or action is Action.HOLD:
        return NO_INFLUENCE
    return LlmInfluence(0.0, True, Bias.NEUTRAL,
                        "no llm bias in force (consensus_fail_mode closed)")

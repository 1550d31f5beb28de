"""The panel's draft (pure synthesis, no model call) and the risk reviewer's clamp.

Draft: each view is a signed vote in -1..1 (the market and memory analysts: their confidence,
signed by their bias; the debate: the bull's strength minus the bear's). The score is their
mean; beyond ``NEUTRAL_BAND`` it is a direction with confidence ``|score|``, else NEUTRAL.
Weighing the bull and the bear as one vote keeps either debater from outweighing the evidence.

Review: ``keep`` leaves the draft, ``lower`` takes the smaller of the two confidences, ``veto``
gives NEUTRAL at 0 with HOLD. Whatever the reviewer answers, the result's confidence is at most
the draft's, its bias is the draft's or NEUTRAL and its action the draft's or HOLD; the reply
carries no size, stop or target (risk sets those).
"""

from __future__ import annotations

from bot.core.llm_reply import LlmReply, ReplyAction, ReplyBias
from bot.llm.roles.spec import CaseReply, ReviewReply, ReviewVerdict

NEUTRAL_BAND = 0.10
_SIGN = {ReplyBias.BULLISH: 1.0, ReplyBias.BEARISH: -1.0, ReplyBias.NEUTRAL: 0.0}


def signed(reply: LlmReply) -> float:
    """An analyst's vote: its confidence, signed by its bias (0 for NEUTRAL)."""
    return _SIGN[reply.bias] * reply.confidence


def draft(market: LlmReply, memory: LlmReply, bull: CaseReply, bear: CaseReply) -> LlmReply:
    """The panel's answer before review (the analysts' replies, the debaters' cases)."""
    debate = bull.confidence - bear.confidence
    score = (signed(market) + signed(memory) + debate) / 3.0
    if score > NEUTRAL_BAND:
        bias, action = ReplyBias.BULLISH, ReplyAction.BUY
    elif score < -NEUTRAL_BAND:
        bias, action = ReplyBias.BEARISH, ReplyAction.SELL
    else:
        bias, action = ReplyBias.NEUTRAL, ReplyAction.HOLD
    rationale = (f"roles: market {market.bias.value} {market.confidence:.2f}, memory "
                 f"{memory.bias.value} {memory.confidence:.2f}, bull {bull.confidence:.2f}, "
                 f"bear {bear.confidence:.2f}; score {score:+.2f}")
    return LlmReply(bias=bias, confidence=round(min(1.0, abs(score)), 4), action=action,
                    rationale=rationale, key_factors=market.key_factors,
                    risk_notes=market.risk_notes)


def reviewed(panel: LlmReply, review: ReviewReply) -> LlmReply:
    """The draft after the reviewer: never more confident, never another direction."""
    note = f"risk reviewer {review.verdict.value}: {review.reason}"[:1000]
    if review.verdict is ReviewVerdict.VETO:
        return LlmReply(bias=ReplyBias.NEUTRAL, confidence=0.0, action=ReplyAction.HOLD,
                        rationale=panel.rationale, key_factors=panel.key_factors,
                        risk_notes=note)
    confidence = panel.confidence
    if review.verdict is ReviewVerdict.LOWER:
        confidence = min(panel.confidence, review.confidence)
    return LlmReply(bias=panel.bias, confidence=confidence, action=panel.action,
                    rationale=panel.rationale, key_factors=panel.key_factors, risk_notes=note)

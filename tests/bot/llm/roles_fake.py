"""Helpers for the roles tests: which role a fake Bedrock request came from, role replies."""

from __future__ import annotations

from typing import Any

from bot.llm.roles.spec import SYSTEMS, RoleName
from tests.fakellm.server import Step

SINGLE = "single"
REPLIES: dict[str, dict[str, Any]] = {
    "market": {"bias": "BULLISH", "confidence": 0.9, "action": "BUY", "rationale": "trend",
               "key_factors": ["ema up"], "risk_notes": ""},
    "memory": {"bias": "BULLISH", "confidence": 0.6, "action": "BUY", "rationale": "setups",
               "key_factors": [], "risk_notes": ""},
    "bull": {"confidence": 0.8, "argument": "higher highs"},
    "bear": {"confidence": 0.2, "argument": "stretched"},
    "risk": {"verdict": "keep", "confidence": 1.0, "reason": "fine"},
    SINGLE: {"bias": "BEARISH", "confidence": 0.55, "action": "SELL", "rationale": "single",
             "key_factors": [], "risk_notes": ""},
}


def role_of(record: dict[str, Any]) -> str:
    """The role whose prompt a recorded Converse request carries ('single' for none)."""
    system = record["body"]["system"][0]["text"]
    for role in RoleName:
        if system == SYSTEMS[role]:
            return role.value
    return SINGLE


def max_tokens(record: dict[str, Any]) -> int:
    return int(record["body"]["inferenceConfig"]["maxTokens"])


def by_role(overrides: dict[str, Step] | None = None):
    """A responder answering each role with its canned reply (or the override's step)."""
    steps = overrides or {}

    def respond(record: dict[str, Any]) -> Step:
        role = role_of(record)
        return steps.get(role) or Step(payload=dict(REPLIES[role]))
    return respond

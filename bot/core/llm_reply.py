"""The model's reply: a pydantic schema, lenient coercion, clamping, and the JSON schema sent.

Whatever the model returns is untrusted: enums are matched case-insensitively, text is cut to
a bounded length, and anything else is a parse error. Confidence (asked for as 0..1): a value in
0..1 is taken as it is; a value above 1 and up to 100 is read as a percentage (``72`` -> 0.72,
``7.5`` -> 0.075, i.e. 7.5 %); anything else is clamped (negative -> 0, above 100 -> 1). The
docs/llm.md states the same rule.
"""

from __future__ import annotations

import json
import math
import re
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

MAX_TEXT = 1000
MAX_FACTORS = 8


class ReplyBias(StrEnum):
    BULLISH = "BULLISH"
    BEARISH = "BEARISH"
    NEUTRAL = "NEUTRAL"


class ReplyAction(StrEnum):
    BUY = "BUY"
    SELL = "SELL"
    HOLD = "HOLD"


def _upper(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


def bounded_text(value: Any) -> str:
    """Untrusted text cut to ``MAX_TEXT``; None as empty; anything but text/number refused."""
    if value is None:
        return ""
    if not isinstance(value, str | int | float):
        raise ValueError("must be text")
    return str(value)[:MAX_TEXT]


def clamped_confidence(value: Any) -> float:
    """A confidence in 0..1: a number above 1 and up to 100 is a percentage, the rest clamped."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError("confidence must be a number")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError("confidence must be finite")
    if 1.0 < number <= 100.0:
        number = number / 100.0  # a percentage: "72" is 72 %, 7.5 is 7.5 %
    return min(1.0, max(0.0, number))


class LlmReply(BaseModel):
    """What the model must answer; extra keys are ignored."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    bias: ReplyBias
    confidence: float
    action: ReplyAction = ReplyAction.HOLD
    rationale: str = ""
    key_factors: tuple[str, ...] = Field(default_factory=tuple)
    risk_notes: str = ""

    _upper_bias = field_validator("bias", "action", mode="before")(_upper)

    @field_validator("confidence", mode="before")
    @classmethod
    def _clamp(cls, value: Any) -> float:
        return clamped_confidence(value)

    @field_validator("rationale", "risk_notes", mode="before")
    @classmethod
    def _bounded(cls, value: Any) -> str:
        return bounded_text(value)

    @field_validator("key_factors", mode="before")
    @classmethod
    def _factors(cls, value: Any) -> tuple[str, ...]:
        if value is None:
            return ()
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list | tuple):
            raise ValueError("key_factors must be a list of text")
        return tuple(bounded_text(v)[:200] for v in value[:MAX_FACTORS])


def reply_json_schema() -> dict[str, Any]:
    """The JSON schema given to the model (bounds stated, and still clamped in code)."""
    return {
        "type": "object",
        "properties": {
            "bias": {"type": "string", "enum": [b.value for b in ReplyBias]},
            "confidence": {"type": "number", "minimum": 0, "maximum": 1},
            "action": {"type": "string", "enum": [a.value for a in ReplyAction]},
            "rationale": {"type": "string"},
            "key_factors": {"type": "array", "items": {"type": "string"}},
            "risk_notes": {"type": "string"},
        },
        "required": ["bias", "confidence", "action", "rationale", "key_factors", "risk_notes"],
        "additionalProperties": False,
    }


_FENCE = re.compile(r"\{.*\}", re.DOTALL)


def extract_json(text: str) -> dict[str, Any] | None:
    """Tolerant extraction of one JSON object from text (code fences, prose around it)."""
    candidates = [text.strip()]
    match = _FENCE.search(text)
    if match:
        candidates.append(match.group(0))
    for candidate in candidates:
        try:
            value = json.loads(candidate)
        except (json.JSONDecodeError, RecursionError):
            continue
        if isinstance(value, dict):
            return value
    return None


def parse_reply(parsed: Any) -> tuple[LlmReply | None, str]:
    """Validate a decoded reply; return (reply, "") or (None, why it is unusable)."""
    if not isinstance(parsed, dict):
        return None, f"reply is not a JSON object ({type(parsed).__name__})"
    try:
        return LlmReply.model_validate(parsed), ""
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'reply'}: {e['msg']}" for e in exc.errors()
        )
        return None, problems[:500]

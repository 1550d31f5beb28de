"""What the market answered to an LLM call's question: the move over the prompt's horizon.

The prompt asks for "your bias for the next 30-60 minutes"; the answer is the close of the bar
``HORIZON_MINUTES`` (45) after the prompt's bar minus the close of the prompt's bar (the
``time_utc`` of its market snapshot). A move within ``DEAD_BAND_POINTS`` (1.0) either way is
NEUTRAL/HOLD; up is BULLISH/BUY, down BEARISH/SELL. Confidence: 0.3 for NEUTRAL, 0.55 for a
directional move, 0.75 when it reached four dead bands. Shared by the training labels
(``bot.learning.call_labels``) and the calibration ledger (``shared.domain.calibration``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

HORIZON_MINUTES = 45
DEAD_BAND_POINTS = 1.0
SNAPSHOT_MARK = "Market snapshot (JSON):\n"
DIRECTIONS = {"BULLISH": "BUY", "BEARISH": "SELL", "NEUTRAL": "HOLD"}


@dataclass(frozen=True, slots=True)
class CallLabel:
    """The answer a call's prompt should have got."""

    bias: str
    confidence: float

    def answer(self) -> dict[str, Any]:
        """The assistant turn: the reply schema with only the label's fields filled."""
        return {"bias": self.bias, "confidence": self.confidence,
                "action": DIRECTIONS[self.bias], "rationale": "", "key_factors": [],
                "risk_notes": ""}




def prompt_time(prompt: str) -> datetime | None:
    """The market snapshot's ``time_utc`` (the prompt's bar), or None when it has none."""
    start = prompt.find(SNAPSHOT_MARK)
    if start < 0:
        return None
    line = prompt[start + len(SNAPSHOT_MARK):].split("\n", 1)[0]
    try:
        value = json.loads(line).get("time_utc")
        stamp = datetime.fromisoformat(str(value))
    except (ValueError, AttributeError, TypeError):
        return None
    return stamp if stamp.tzinfo is not None else None


def label_for(move_points: float, dead_band_points: float) -> CallLabel:
    """The label of a move over the horizon (see the module's rule)."""
    if abs(move_points) <= dead_band_points:
        return CallLabel("NEUTRAL", 0.3)
    confidence = 0.75 if abs(move_points) >= 4 * dead_band_points else 0.55
    return CallLabel("BULLISH" if move_points > 0 else "BEARISH", confidence)



"""Training examples that answer the prompt: one per LLM call, labelled by the market's move.

The prompt asks for "your bias for the next 30-60 minutes". The label answers exactly that,
from journaled bars only: the move is the close of the bar ``horizon_minutes`` (45) after the
prompt's bar minus the close of the prompt's bar (the ``time_utc`` of its market snapshot, the
bar the decision closed). A move within ``dead_band_points`` (1.0) either way is NEUTRAL/HOLD;
up is BULLISH/BUY, down BEARISH/SELL. Confidence: 0.3 for NEUTRAL, 0.55 for a directional
move, 0.75 when it reached four dead bands. A call whose two bars are not both journaled is
skipped (counted), never guessed.

The assistant turn carries only what the label needs, in the reply's JSON schema: bias,
confidence and the action that goes with the bias; rationale, key factors and risk notes are
empty. Nothing of the future (no price, no move in points) and no text from any model reply
is ever written there, so injected text in a reply cannot reach the training data.

Identical prompts (same system and user text, e.g. retried or cached attempts) become one
example; if their labels ever disagreed, all of them are dropped (counted as conflicts).
Examples are split by CME trading day, seeded, into a training and a held-out set, so no day
is in both.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from shared.domain.call_outcome import (
    DEAD_BAND_POINTS,
    DIRECTIONS,
    HORIZON_MINUTES,
    SNAPSHOT_MARK,
    CallLabel,
    label_for,
    prompt_time,
)
from shared.persistence.learning_queries import MarketCall

__all__ = ["DEAD_BAND_POINTS", "DIRECTIONS", "HORIZON_MINUTES", "SNAPSHOT_MARK", "CallLabel",
           "Example", "LabelCounts", "label_calls", "label_for", "prompt_time", "split_by_day"]

@dataclass(frozen=True, slots=True)
class Example:
    """One labelled prompt and the trading day it belongs to."""

    system: str
    prompt: str
    label: CallLabel
    day: date
    call_ids: tuple[int, ...]

    def record(self) -> dict[str, Any]:
        """The Bedrock conversational line."""
        record: dict[str, Any] = {}
        if self.system.strip():
            record["system"] = self.system
        record["messages"] = [
            {"role": "user", "content": self.prompt},
            {"role": "assistant", "content": json.dumps(self.label.answer(), sort_keys=True)},
        ]
        return record


@dataclass
class LabelCounts:
    """What happened to the calls: labelled, skipped (and why), merged, dropped."""

    calls: int = 0
    out_of_range: int = 0
    no_market_time: int = 0
    horizon_not_journaled: int = 0
    duplicates_merged: int = 0
    conflicts_dropped: int = 0


def label_calls(
    calls: Iterable[MarketCall], closes: dict[datetime, float], since: datetime,
    until: datetime | None, trading_day: Callable[[datetime], date],
    horizon_minutes: int = HORIZON_MINUTES, dead_band_points: float = DEAD_BAND_POINTS,
) -> tuple[list[Example], LabelCounts]:
    """One example per distinct prompt whose horizon the journaled ``closes`` cover."""
    counts = LabelCounts()
    groups: dict[tuple[str, str], list[tuple[MarketCall, CallLabel, datetime]]] = {}
    for call in calls:
        counts.calls += 1
        at = prompt_time(call.prompt)
        if at is None:
            counts.no_market_time += 1
            continue
        if at < since or (until is not None and at >= until):
            counts.out_of_range += 1
            continue
        now, later = closes.get(at), closes.get(at + timedelta(minutes=horizon_minutes))
        if now is None or later is None:
            counts.horizon_not_journaled += 1
            continue
        groups.setdefault((call.system_prompt, call.prompt), []).append(
            (call, label_for(later - now, dead_band_points), at))
    examples = []
    for (system, prompt), members in groups.items():
        labels = {label for _, label, _ in members}
        if len(labels) > 1:
            counts.conflicts_dropped += len(members)
            continue
        counts.duplicates_merged += len(members) - 1
        examples.append(Example(system, prompt, members[0][1], trading_day(members[0][2]),
                                tuple(c.call_id for c, _, _ in members)))
    return examples, counts


def split_by_day(examples: list[Example], heldout_fraction: float, seed: int
                 ) -> tuple[list[Example], list[Example]]:
    """(training, held-out): whole trading days, chosen by a seeded shuffle."""
    days = sorted({e.day for e in examples})
    if len(days) < 2 or heldout_fraction <= 0:
        return list(examples), []
    random.Random(seed).shuffle(days)
    count = min(len(days) - 1, max(1, round(heldout_fraction * len(days))))
    heldout = set(days[:count])
    return ([e for e in examples if e.day not in heldout],
            [e for e in examples if e.day in heldout])

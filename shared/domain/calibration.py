"""The LLM calibration ledger: is the model right as often as it says it is?

Every ``ok`` market call is scored against the market's move over the horizon its prompt asks
about, with the rule the training labels use (``shared.domain.call_outcome``: the close 45 minutes
after the prompt's bar minus the close of that bar; within the dead band is NEUTRAL).
The call is right (a hit) when its bias is that label. Its confidence is read as the
probability of being right, so the Brier score is the mean of (confidence - hit)².

The base rate is the hit rate of the best constant answer (always the commonest label among
the scored calls): a model is worth listening to only when its hit rate is above it. Skill is
the Wilson lower bound of the hit rate, above the base rate, as a share of the room above it
(0 to 1; 0 below ``min_calls`` scored calls), so an uncalibrated or random model has ~0 and
``llm.skill_scaled`` takes its influence away by itself.

The same functions score live calls (closes from journaled bars) and backtest calls (closes
from the data); ``skill_before`` uses only calls whose horizon ended by the decision time.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.domain.call_outcome import (
    DEAD_BAND_POINTS,
    HORIZON_MINUTES,
    SNAPSHOT_MARK,
    label_for,
)

Z_95 = 1.96
MIN_SKILL_CALLS = 30


@dataclass(frozen=True, slots=True)
class AnsweredCall:
    """One ``ok`` market call with its validated answer and the prompt that asked it."""

    call_id: int
    created_at: datetime
    trigger: str
    provider: str
    model: str
    mode: str
    prompt: str
    bias: str
    confidence: float


@dataclass(frozen=True, slots=True)
class ScoredCall:
    """One answered call and how the market answered it."""

    call_id: int
    at: datetime  # the prompt's bar
    trigger: str
    model: str
    mode: str
    bias: str
    confidence: float
    outcome: str  # the label of the move: BULLISH, BEARISH or NEUTRAL
    hit: bool

    @property
    def scored_by(self) -> datetime:
        """When the horizon ended: the earliest time this score may be used."""
        return self.at + timedelta(minutes=HORIZON_MINUTES)


@dataclass(frozen=True, slots=True)
class Calibration:
    """Hit rate (with its 95 % Wilson interval), Brier score and base rate of some calls."""

    calls: int
    hits: int
    hit_rate: float | None
    hit_low: float | None
    hit_high: float | None
    brier: float | None
    base_rate: float | None
    mean_confidence: float | None


def prompt_bar(prompt: str) -> tuple[str, datetime] | None:
    """The snapshot's symbol and bar time (``time_utc``) from a prompt, or None."""
    start = prompt.find(SNAPSHOT_MARK)
    if start < 0:
        return None
    try:
        data = json.loads(prompt[start + len(SNAPSHOT_MARK):].split("\n", 1)[0])
        stamp = datetime.fromisoformat(str(data["time_utc"]))
        symbol = str(data["symbol"])
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    return (symbol, stamp) if stamp.tzinfo is not None else None


def score(bias: str, move_points: float, dead_band_points: float = DEAD_BAND_POINTS
          ) -> tuple[str, bool]:
    """The move's label and whether ``bias`` named it."""
    outcome = label_for(move_points, dead_band_points).bias
    return outcome, bias.upper() == outcome


def score_calls(
    calls: Iterable[AnsweredCall], close_at: Callable[[str, datetime], float | None],
    horizon_minutes: int = HORIZON_MINUTES, dead_band_points: float = DEAD_BAND_POINTS,
) -> tuple[list[ScoredCall], int]:
    """The calls whose two closes are known, scored; and how many could not be (yet)."""
    scored, unscored = [], 0
    for call in calls:
        bar = prompt_bar(call.prompt)
        now = close_at(*bar) if bar else None
        later = (close_at(bar[0], bar[1] + timedelta(minutes=horizon_minutes))
                 if bar and now is not None else None)
        if bar is None or now is None or later is None:
            unscored += 1
            continue
        outcome, hit = score(call.bias, later - now, dead_band_points)
        scored.append(ScoredCall(call.call_id, bar[1], call.trigger, call.model,
                                 call.mode or "unknown", call.bias.upper(),
                                 min(1.0, max(0.0, call.confidence)), outcome, hit))
    return scored, unscored


def wilson(hits: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval of a proportion."""
    if n == 0:
        return 0.0, 1.0
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def calibration(scored: list[ScoredCall]) -> Calibration:
    """The figures of these calls (None where there is nothing to measure)."""
    n = len(scored)
    if n == 0:
        return Calibration(0, 0, None, None, None, None, None, None)
    hits = sum(s.hit for s in scored)
    low, high = wilson(hits, n)
    commonest = Counter(s.outcome for s in scored).most_common(1)[0][1]
    brier = sum((s.confidence - s.hit) ** 2 for s in scored) / n
    return Calibration(n, hits, hits / n, low, high, brier, commonest / n,
                       sum(s.confidence for s in scored) / n)


def skill(scored: list[ScoredCall], min_calls: int = MIN_SKILL_CALLS) -> float:
    """How far the hit rate's lower bound clears the base rate, 0 to 1 (0: no skill shown)."""
    figures = calibration(scored)
    if figures.calls < min_calls or figures.hit_low is None or figures.base_rate is None:
        return 0.0
    room = 1.0 - figures.base_rate
    if room <= 0:
        return 0.0
    return min(1.0, max(0.0, (figures.hit_low - figures.base_rate) / room))


def skill_before(scored: list[ScoredCall], now: datetime,
                 min_calls: int = MIN_SKILL_CALLS) -> float:
    """Skill from the calls whose horizon ended by ``now`` only (no look-ahead)."""
    return skill([s for s in scored if s.scored_by <= now], min_calls)


def by_decile(scored: list[ScoredCall]) -> list[tuple[float, float, Calibration]]:
    """(lower, upper confidence, figures) per confidence decile that has calls."""
    groups: dict[int, list[ScoredCall]] = {}
    for s in scored:
        groups.setdefault(min(9, int(s.confidence * 10)), []).append(s)
    return [(k / 10, (k + 1) / 10, calibration(groups[k])) for k in sorted(groups)]


def by_key(scored: list[ScoredCall], key: Callable[[ScoredCall], str]
           ) -> dict[str, Calibration]:
    """Figures per value of ``key`` (trigger kind, model and mode, ...)."""
    groups: dict[str, list[ScoredCall]] = {}
    for s in scored:
        groups.setdefault(key(s), []).append(s)
    return {name: calibration(groups[name]) for name in sorted(groups)}

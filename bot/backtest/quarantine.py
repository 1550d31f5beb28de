"""The bad-print quarantine over a backtest's bars: drop what the live bot would never see.

The live loop hands every bar to one ``BarQuarantine`` (``bot.core.bar_quarantine``) before the
engine. Here the same object judges the same bars, so a quarantined bar is absent from the run:
no decision, no fill, no indicator. Judging a million clean bars one by one in Python would cost
seconds, so ``flag_columns`` first finds, over whole columns, the bars that might not be plainly
accepted; the object runs from each of them until it has accepted a full window of bars in a row
(its state then equals the columns' assumption again). The verdicts are exactly the object's.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import numpy as np

from bot.backtest.data import BarData
from bot.core.bar_quarantine import (
    BAD_BAR,
    LEVEL_SHIFT,
    BarQuarantine,
    JumpLimits,
    QuarantineEvent,
    flag_columns,
)
from shared.config.settings import Settings
from shared.domain.instruments import get_instrument
from shared.domain.models import Bar

logger = logging.getLogger(__name__)

LISTED = 20  # quarantined bars and level shifts listed by name in a run's metrics


def _bar(data: BarData, index: int) -> Bar:
    return Bar(datetime.fromtimestamp(int(data.ts_ns[index]) / 1e9, UTC),
               float(data.open[index]), float(data.high[index]), float(data.low[index]),
               float(data.close[index]), float(data.volume[index]))


def judge(data: BarData, limits: JumpLimits) -> tuple[np.ndarray, list[QuarantineEvent]]:
    """Which bars the quarantine accepts (a mask) and the events it raised, in bar order."""
    flags = flag_columns(data.ts_ns, data.open, data.high, data.low, data.close, data.volume,
                         limits)
    keep = np.ones(len(data), dtype=bool)
    events: list[QuarantineEvent] = []
    flagged = np.flatnonzero(flags)
    index = 0
    while True:
        found = int(np.searchsorted(flagged, index))
        if found == len(flagged):
            return keep, events
        index = _run_object(data, int(flagged[found]), limits, keep, events)


def _run_object(data: BarData, start: int, limits: JumpLimits, keep: np.ndarray,
                events: list[QuarantineEvent]) -> int:
    """Judge bars from ``start`` with the object until it is back in step with the columns;
    return the next bar to look at."""
    quarantine = BarQuarantine(limits)  # every bar before ``start`` was accepted
    quarantine.seed(_bar(data, i) for i in range(max(0, start - limits.window_bars), start))
    streak, index = 0, start
    while index < len(data) and streak < limits.window_bars:
        bar = _bar(data, index)
        verdict = quarantine.check(bar)
        keep[index] = verdict.accepted
        if verdict.event is not None:
            events.append(QuarantineEvent(bar.ts, verdict.event, verdict.message, verdict.detail))
        streak = streak + 1 if verdict.accepted else 0
        index += 1
    return index


def quarantine_data(data: BarData, settings: Settings) -> BarData:
    """``data`` without the bars the live bot's quarantine would drop, with its events."""
    if len(data) == 0:
        return data
    tick = get_instrument(settings.instrument.symbol).tick_size
    keep, events = judge(data, JumpLimits.from_config(settings.feed, tick, data.bar_seconds))
    if not events:
        return data
    dropped = int(len(keep) - keep.sum())
    for event in events[:3]:
        logger.warning("%s", event.message)
    logger.warning("bad-print quarantine: %d bars dropped, %d level shifts flagged", dropped,
                   sum(e.kind == LEVEL_SHIFT for e in events))
    columns = [column[keep] for column in (data.ts_ns, data.open, data.high, data.low,
                                           data.close, data.volume)]
    kept = replace(data, ts_ns=columns[0], open=columns[1], high=columns[2], low=columns[3],
                   close=columns[4], volume=columns[5], first=int(keep[:data.first].sum()),
                   quarantine=tuple(events))
    return kept


def _listed(events: Iterator[QuarantineEvent]) -> list[dict[str, Any]]:
    return [{"ts": e.ts.isoformat(), "message": e.message, **e.detail} for e in events][:LISTED]


def quarantine_metrics(data: BarData) -> dict[str, Any]:
    """A run's quarantine figures: bars dropped, level shifts, and the first of each."""
    bad = [e for e in data.quarantine if e.kind == BAD_BAR]
    shifts = [e for e in data.quarantine if e.kind == LEVEL_SHIFT]
    return {"bars_quarantined": len(bad), "level_shifts": len(shifts),
            "quarantined_bars": _listed(iter(bad)), "level_shift_events": _listed(iter(shifts))}

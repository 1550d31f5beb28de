"""A planted, conditional edge in the synthetic market: a known signal the learners should find.

The plain synthetic market has no edge a learner could find (by design). With a planted edge
(``--planted-edge NAME``), the market moves against one kind of entry in one recognisable
condition, so we can measure power: does memory learn to refuse those setups, does the review
propose the matching rule? Each edge is a condition on what the engine itself sees at a bar
(time bucket, volatility label = ATR over its baseline) and a drift after it: for
``horizon_minutes`` after any bar in the condition, price drifts by ``move_atr`` ATRs (over the
horizon) in ``direction``, so a long entered there loses about one stop (1 R at the default
4.5-ATR stop) and a short there wins.

The condition is read from the *plain* market's features, so planting never feeds back into
itself, and the result is a deterministic function of the market's seed. Each session's drift
is undone in the gap before the next session (the break, when no bar trades), so prices do not
wander off: outside its windows every bar moves exactly as in the plain market. Off by default;
with no edge the data is returned untouched.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time

import numpy as np
import pandas as pd

from bot.backtest.data import BarData
from bot.backtest.vector_features import feature_matrix
from shared.config.settings import FeatureConfig, RegimeConfig
from shared.domain.errors import ConfigError

TICK_POINTS = 0.25
CHICAGO = "America/Chicago"


@dataclass(frozen=True, slots=True)
class PlantedEdge:
    """Where the market moves against an entry, and how far.

    ``start_ct``/``end_ct``: the Chicago time window of the condition (None: any time);
    ``min_atr_ratio``: ATR over its baseline above this (None: the regime's ``high`` label);
    ``direction`` -1: price falls after the condition (longs lose, shorts win).
    """

    name: str
    description: str
    start_ct: time | None
    end_ct: time | None
    min_atr_ratio: float | None
    direction: int
    move_atr: float
    horizon_minutes: float


PLANTED_EDGES: dict[str, PlantedEdge] = {
    edge.name: edge for edge in (
        PlantedEdge("open_high_vol_longs",
                    "longs taken in the RTH open bucket (08:30-10:00 CT) in high volatility "
                    "lose about 1 R: the market falls 4.5 ATR over the next 30 minutes",
                    time(8, 30), time(10, 0), None, -1, 4.5, 30.0),
        PlantedEdge("open_high_vol_longs_fast",
                    "the same condition, a faster fall: the market falls 4.5 ATR over the next "
                    "10 minutes, so a long taken there is usually stopped out (about -1 R) "
                    "even with a short maximum hold",
                    time(8, 30), time(10, 0), None, -1, 4.5, 10.0),
    )
}


def planted_edge(name: str | None) -> PlantedEdge | None:
    """The named edge (None for none); ConfigError names the known ones."""
    if name is None or name in ("", "none", "off"):
        return None
    edge = PLANTED_EDGES.get(name)
    if edge is None:
        raise ConfigError(f"--planted-edge {name!r}: unknown; known: "
                          f"{', '.join(sorted(PLANTED_EDGES))}")
    return edge


def condition_mask(data: BarData, edge: PlantedEdge, atr: np.ndarray, baseline: np.ndarray,
                   regime: RegimeConfig) -> np.ndarray:
    """Bars of the plain market in the edge's condition (time window and high volatility),
    from its ATR and ATR baseline columns."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = atr / baseline
    limit = regime.high_volatility_ratio if edge.min_atr_ratio is None else edge.min_atr_ratio
    mask = np.isfinite(ratio) & (ratio > limit)
    if edge.start_ct is not None and edge.end_ct is not None:
        local = pd.DatetimeIndex(data.ts_ns, tz="UTC").tz_convert(CHICAGO)
        minute = local.hour * 60 + local.minute
        start = edge.start_ct.hour * 60 + edge.start_ct.minute
        end = edge.end_ct.hour * 60 + edge.end_ct.minute
        mask &= (np.asarray(minute) >= start) & (np.asarray(minute) < end)
    return mask & np.isfinite(atr)


def _session_starts(data: BarData) -> np.ndarray:
    """True on the first bar of each session (a gap longer than one bar before it)."""
    starts = np.ones(len(data), dtype=bool)
    starts[1:] = np.diff(data.ts_ns) > data.bar_seconds * 1_000_000_000
    return starts


def drift_offsets(data: BarData, mask: np.ndarray, edge: PlantedEdge,
                  atr: np.ndarray) -> np.ndarray:
    """The planted price offset at each bar's close (points, on the tick grid; 0 at each
    session's start): a bar within ``horizon`` bars after a condition bar moves by
    ``direction x move_atr x ATR / horizon`` (the largest ATR of the condition bars arming
    it), so the market moves at least ``move_atr`` ATRs over the horizon after each one."""
    horizon = max(1, round(edge.horizon_minutes * 60 / data.bar_seconds))
    step = np.zeros(len(data))
    starts = _session_starts(data)
    armed_until, rate = -1, 0.0
    flagged = mask.tolist()
    atr_list = np.nan_to_num(atr, nan=0.0).tolist()
    per_bar = edge.direction * edge.move_atr / horizon
    for index in range(len(data)):
        if starts[index]:
            armed_until = -1
        if index <= armed_until:
            step[index] = rate
        if flagged[index]:  # while armed the rate only grows: every condition bar gets its fall
            fresh = per_bar * atr_list[index]
            rate = fresh if index > armed_until else max(rate, fresh, key=abs)
            armed_until = index + horizon
    session_id = np.cumsum(starts)
    cumulative = np.cumsum(step)
    first_of_session = np.flatnonzero(starts)
    base = np.concatenate(([0.0], cumulative))[first_of_session]  # cumulative before session
    offsets = cumulative - base[session_id - 1]
    return np.round(offsets / TICK_POINTS) * TICK_POINTS


def plant(data: BarData, edge: PlantedEdge | None, features: FeatureConfig,
          regime: RegimeConfig) -> BarData:
    """``data`` with ``edge`` planted (untouched when ``edge`` is None)."""
    if edge is None or len(data) == 0:
        return data
    table = feature_matrix(data.open, data.high, data.low, data.close, data.volume, features)
    atr = table.column("atr_points")
    mask = condition_mask(data, edge, atr, table.column("atr_baseline_points"), regime)
    close_offset = drift_offsets(data, mask, edge, atr)
    open_offset = np.concatenate(([0.0], close_offset[:-1]))
    open_offset[_session_starts(data)] = 0.0  # the break absorbs the session's drift
    open_ = data.open + open_offset
    close = data.close + close_offset
    high = np.maximum(data.high + np.maximum(open_offset, close_offset), np.maximum(open_, close))
    low = np.minimum(data.low + np.minimum(open_offset, close_offset), np.minimum(open_, close))
    low = np.maximum(low, TICK_POINTS)
    return BarData(data.ts_ns, open_, high, low, np.maximum(close, TICK_POINTS), data.volume,
                   data.bar_seconds, data.first, data.rows_skipped, data.problems,
                   data.out_of_order, data.order_problems)

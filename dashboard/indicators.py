"""The indicator panels' data: RSI and MACD as the bot computed them at each decision
(``decisions.features_json``) and the stretches its regime filter called not tradable.

The chart resamples candles to a coarser step when a window holds too many bars; the
indicators follow the same step (the last value in each step, as a candle's close), and a step
counts as not tradable when any decision in it was.
"""

from __future__ import annotations

import pandas as pd

COLUMNS = ("rsi", "macd", "macd_signal", "macd_hist", "tradable")
MAX_SPANS = 200  # shaded stretches drawn at most (the latest ones), to keep the figure light


def indicator_frame(raw: pd.DataFrame, step: str = "raw") -> pd.DataFrame:
    """``raw`` (indexed by decision time) resampled to the chart's ``step``; rows with neither
    an indicator value nor a regime verdict dropped."""
    if raw.empty:
        return pd.DataFrame(columns=list(COLUMNS), index=pd.DatetimeIndex([], tz="UTC"))
    frame = raw.reindex(columns=list(COLUMNS)).astype(float)
    if step != "raw" and len(frame) > 1:
        resampled = frame.resample(step)
        values = resampled[["rsi", "macd", "macd_signal", "macd_hist"]].last()
        values["tradable"] = resampled["tradable"].min()
        frame = values
    return frame.dropna(how="all")


def non_tradable_spans(frame: pd.DataFrame) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """Contiguous runs of rows whose regime said not tradable, each from its first row to the
    next row (the verdict holds until the next decision); a run at the end closes at its last
    row. An unknown verdict (NaN) neither starts nor extends a run."""
    if frame.empty or "tradable" not in frame:
        return []
    blocked = (frame["tradable"] == 0).to_numpy()
    times = list(frame.index)
    spans: list[tuple[pd.Timestamp, pd.Timestamp]] = []
    start = None
    for position, is_blocked in enumerate(blocked):
        if is_blocked and start is None:
            start = times[position]
        elif not is_blocked and start is not None:
            spans.append((start, times[position]))
            start = None
    if start is not None:
        spans.append((start, times[-1]))
    return spans[-MAX_SPANS:]


def has_values(frame: pd.DataFrame) -> bool:
    """True when any RSI or MACD value is known (the panels are worth drawing)."""
    return not frame.empty and bool(frame[["rsi", "macd"]].notna().to_numpy().any())

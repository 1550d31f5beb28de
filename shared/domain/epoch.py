"""Exact epoch nanoseconds of many aware datetimes at once.

The backtest report converts every trade's entry and exit time to nanoseconds to place them
among the bars (exposure, equity at each bar's close). One ``(ts - epoch) // microsecond`` per
trade costs seconds on a run of tens of thousands of trades; pandas converts the whole list in
C, exactly (a datetime holds whole microseconds; each one's own UTC offset is applied).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np
import pandas as pd


def epoch_ns(stamps: Sequence[datetime]) -> np.ndarray:
    """Nanoseconds since the Unix epoch (int64) of tz-aware ``stamps``, in their order.

    A naive datetime raises ``ValueError``: its instant is unknown.
    """
    if not stamps:
        return np.empty(0, dtype=np.int64)
    if any(ts.tzinfo is None for ts in stamps):
        raise ValueError("epoch_ns needs tz-aware datetimes")
    return np.asarray(pd.to_datetime(list(stamps), utc=True).as_unit("ns").asi8,
                      dtype=np.int64)

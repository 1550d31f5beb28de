"""The ``feed`` section: where bars come from (synthetic, replay, IB) and their length."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from shared.config.sections.base import Section


class FeedConfig(Section):
    """Where bars come from: the built-in synthetic market, or a replay of a CSV/Parquet file."""

    source: Literal["synthetic", "replay"] = "synthetic"
    seed: int = Field(7, description="Seed of the synthetic market; same seed, same bars")
    speed: float = Field(1.0, gt=0, description="1 = real time; 100 = a hundred times faster")
    start: datetime | None = Field(None, description="First bar time (UTC); empty = now")
    start_price: float = Field(5000.0, gt=0)
    replay_path: str = Field("", description="CSV or Parquet file of bars for source=replay")
    replay_timezone: str = Field("UTC", description="Timezone of naive timestamps in the file")
    bar_seconds: int = Field(5, ge=1, le=3600)
    realtime_hours: Literal["cme", "always"] = Field(
        "cme", description="A synthetic market that starts now (start empty): CME Globex hours, "
        "or always open (practice during the daily halt and on weekends)")
    max_bars: int | None = Field(None, ge=1, description="Stop after this many bars (tests)")
    warm_start_minutes: float = Field(
        360.0, ge=0, le=7 * 24 * 60,
        description="First start of a synthetic market beginning now: play this much history "
        "first (at least features.window_bars bars) so indicators are warm and charts full; "
        "0 = off",
    )
    # The bad-print quarantine (bot/core/bar_quarantine.py), live and in backtests alike.
    bad_print_filter: bool = Field(
        True, description="Quarantine bars that jump beyond the limits below (OHLC, non-positive "
        "and non-finite prices are always refused)",
    )
    bad_print_window_bars: int = Field(
        60, ge=5, le=1000, description="Recent range = mean high-low of this many accepted bars",
    )
    bad_print_gap_ranges: float = Field(
        15.0, ge=2, le=1000, description="An open this many recent ranges (x sqrt of the bars "
        "elapsed) from the last close is a suspect print",
    )
    bad_print_spike_ranges: float = Field(
        80.0, ge=2, le=10_000, description="A high or low this many recent ranges (x sqrt of "
        "the bars elapsed) from the last close is a suspect print",
    )
    bad_print_min_range_ticks: int = Field(
        4, ge=1, le=10_000, description="Floor of the recent range, in ticks",
    )
    bad_print_confirm_bars: int = Field(
        2, ge=1, le=20, description="A jump the next this many bars hold is a level shift "
        "(a contract roll splice): accepted and flagged",
    )

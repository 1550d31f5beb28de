"""The built-in market against real ES one-minute bars, with stated tolerances.

Real: ESZ25 as front month (2025-09-15 to 2025-11-03, ../shared/data, read in place; skipped
when absent). Synthetic: generated at the real median price, each figure the median over three
seeds, as one-minute bars (40 sessions a seed) and as five-second bars summed into minutes (12
sessions a seed). Tolerances, relative to the real figure:
- one-minute |log return|, median and 95th percentile, RTH and overnight: +-30 %
- ATR(14) of one-minute bars, median, RTH and overnight: +-30 %
- median range of a whole session and of RTH: +-35 %
- volume, median RTH minute over median overnight minute: +-35 %
- U-shape: open (08:30-09:00 CT) and close (14:30-15:00) volume over midday, open mean
  |return| over midday: +-30 %
- fat tails: excess kurtosis of RTH returns above 3 (real ES: ~13; a normal: 0)
- clustering: autocorrelation of |return| at least 0.4 x the real one (real ES: ~0.33)
``benchmarks/bench_market_calibration.py`` prints the same figures side by side.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import pytest

from bot.adapters.feeds.calibration import (
    load_reference,
    market_figures,
    median_figures,
    sessions_frame,
)
from bot.adapters.feeds.synthetic import SyntheticMarket

START = datetime(2025, 9, 14, 22, 0, tzinfo=UTC)  # Sunday 17:00 CT, as the real series
SEEDS = (7, 11, 2024)
RELATIVE_TOLERANCE = {
    "abs_return_median_rth_bp": 0.30,
    "abs_return_p95_rth_bp": 0.30,
    "abs_return_median_overnight_bp": 0.30,
    "abs_return_p95_overnight_bp": 0.30,
    "atr14_median_rth_bp": 0.30,
    "atr14_median_overnight_bp": 0.30,
    "session_range_median_bp": 0.35,
    "rth_range_median_bp": 0.35,
    "volume_ratio_rth_overnight": 0.35,
    "volume_open_over_midday": 0.30,
    "volume_close_over_midday": 0.30,
    "abs_return_open_over_midday": 0.30,
}
PRICE = 6740.0


@cache
def synthetic(bar_seconds: int, sessions: int, price: float = PRICE) -> dict[str, float]:
    return median_figures([
        market_figures(sessions_frame(SyntheticMarket(seed, START, price, bar_seconds),
                                      sessions))
        for seed in SEEDS
    ])


@cache
def _real_figures(data_dir: Path) -> dict[str, float]:
    return market_figures(load_reference(data_dir)).as_dict()


@pytest.fixture
def real(shared_data: Path) -> dict[str, float]:
    return _real_figures(shared_data)


def _report(real: dict[str, float], mine: dict[str, float]) -> str:
    return "\n".join(f"{name}: synthetic {mine[name]:.3f}, real {real[name]:.3f}, "
                     f"ratio {mine[name] / real[name]:.2f}" for name in RELATIVE_TOLERANCE)


@pytest.mark.parametrize(("bar_seconds", "sessions"), [(60, 40), (5, 12)])
def test_synthetic_minutes_match_real_es_within_the_tolerances(
    real: dict[str, float], bar_seconds: int, sessions: int
) -> None:
    assert 6000 < real["median_price"] < 7500 and real["sessions"] >= 30  # the right file
    mine = synthetic(bar_seconds, sessions)
    outside = [
        name for name, tolerance in RELATIVE_TOLERANCE.items()
        if abs(mine[name] / real[name] - 1.0) > tolerance
    ]
    assert outside == [], _report(real, mine)
    assert mine["excess_kurtosis_rth"] > 3.0, _report(real, mine)
    assert mine["abs_return_autocorrelation"] >= 0.4 * real["abs_return_autocorrelation"]


def test_five_second_bars_summed_to_minutes_look_like_one_minute_bars() -> None:
    # The generator works on a one-minute grid whatever the bar size: no real data needed.
    minutes, fives = synthetic(60, 40), synthetic(5, 12)
    for name in RELATIVE_TOLERANCE:
        assert fives[name] == pytest.approx(minutes[name], rel=0.25), name


def test_volatility_scales_with_the_price_level() -> None:
    # Figures in basis points do not depend on where the market trades (ticks aside).
    low, high = synthetic(60, 40, 3000.0), synthetic(60, 40, PRICE)
    for name in ("abs_return_p95_rth_bp", "session_range_median_bp", "atr14_median_rth_bp"):
        assert low[name] == pytest.approx(high[name], rel=0.2), name

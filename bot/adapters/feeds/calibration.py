"""Figures that say how ES-like a bar series is, so the synthetic market can be held to real ES.

``market_figures`` measures a series of bars (any size up to one minute; finer bars are first
aggregated to one-minute bars) on the CME clock: one-minute absolute log returns in basis points
(median, 95th percentile, excess kurtosis) in regular trading hours (RTH, 08:30-15:00 CT) and
overnight, their clustering, ATR(14) of one-minute bars, the median session range, the
RTH/overnight volume ratio and the intraday U-shape. Relative units (basis points of price) make
a market at 5,000 comparable with real ES at 6,700; ticks still quantise both alike when they
sit at the same price. Used by the calibration test and ``benchmarks/bench_market_calibration.py``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from bot.adapters.feeds.replay import load_bars
from bot.adapters.feeds.synthetic import SyntheticMarket

CHICAGO = "America/Chicago"
RTH_START_HOUR_CT = 8.5
RTH_END_HOUR_CT = 15.0
MIN_SESSION_MINUTES = 1300  # a full Globex session has 1,380 one-minute bars
ATR_PERIOD = 14


@dataclass(frozen=True, slots=True)
class MarketFigures:
    """One series' figures (bp = basis points of price; minute = one-minute bars)."""

    minutes: int
    sessions: int
    median_price: float
    abs_return_median_rth_bp: float
    abs_return_p95_rth_bp: float
    abs_return_median_overnight_bp: float
    abs_return_p95_overnight_bp: float
    excess_kurtosis_rth: float
    abs_return_autocorrelation: float  # mean over lags 1-10, RTH 10:00-14:00 CT
    atr14_median_rth_bp: float
    atr14_median_overnight_bp: float
    session_range_median_bp: float
    rth_range_median_bp: float
    volume_ratio_rth_overnight: float  # median minute volume, RTH over overnight
    volume_open_over_midday: float  # 08:30-09:00 CT over 11:00-13:00 CT, medians
    volume_close_over_midday: float  # 14:30-15:00 CT over 11:00-13:00 CT
    abs_return_open_over_midday: float  # mean |return|, same windows

    def as_dict(self) -> dict[str, float]:
        """The figures by name."""
        return asdict(self)


def to_minutes(frame: pd.DataFrame) -> pd.DataFrame:
    """Aggregate bars finer than a minute into one-minute bars (labelled by their start)."""
    grouped = frame.resample("1min", label="left", closed="left")
    minutes = grouped.agg({"open": "first", "high": "max", "low": "min", "close": "last",
                           "volume": "sum"})
    return minutes.dropna(subset=["open"])


def _hour_ct(index: pd.DatetimeIndex) -> np.ndarray:
    local = index.tz_convert(CHICAGO)
    return np.asarray(local.hour + local.minute / 60.0 + local.second / 3600.0)


def _trading_day(index: pd.DatetimeIndex) -> pd.Index:
    """CME trading day: the session opening at 17:00 CT belongs to the next calendar day."""
    local = index.tz_convert(CHICAGO)
    return pd.Index((local + pd.Timedelta(hours=7)).date)


def _atr(frame: pd.DataFrame) -> pd.Series:
    previous = frame["close"].shift()
    true_range = np.maximum(frame["high"], previous) - np.minimum(frame["low"], previous)
    true_range = true_range.fillna(frame["high"] - frame["low"])
    return true_range.ewm(alpha=1.0 / ATR_PERIOD, adjust=False).mean()


def _ratio(numerator: float, denominator: float) -> float:
    return float(numerator / denominator) if denominator else float("nan")


def market_figures(bars: pd.DataFrame) -> MarketFigures:
    """Measure ``bars`` (UTC index, columns open/high/low/close/volume) on one-minute bars."""
    frame = bars.sort_index()
    steps = frame.index.to_series().diff().dropna()
    if len(steps) and steps.median() < pd.Timedelta(minutes=1):
        frame = to_minutes(frame)
    hour = _hour_ct(frame.index)
    rth = (hour >= RTH_START_HOUR_CT) & (hour < RTH_END_HOUR_CT)
    contiguous = (frame.index.to_series().diff() == pd.Timedelta(minutes=1)).to_numpy()
    returns_bp = np.log(frame["close"]).diff().to_numpy() * 1e4
    abs_bp = np.abs(returns_bp)
    rth_returns = returns_bp[contiguous & rth]
    overnight_returns = returns_bp[contiguous & ~rth]
    atr_bp = (_atr(frame) / frame["close"]).to_numpy() * 1e4
    atr_bp[: 3 * ATR_PERIOD] = np.nan  # let the smoothing forget its seed

    day = _trading_day(frame.index)
    sessions = frame.groupby(day).agg(high=("high", "max"), low=("low", "min"),
                                      close=("close", "last"), minutes=("close", "size"))
    full = sessions[sessions["minutes"] >= MIN_SESSION_MINUTES]
    rth_sessions = frame[rth].groupby(day[rth]).agg(
        high=("high", "max"), low=("low", "min"), close=("close", "last"))

    volume = frame["volume"].to_numpy()

    def window(start: float, end: float) -> np.ndarray:
        return (hour >= start) & (hour < end)

    midday, opening, closing = window(11.0, 13.0), window(8.5, 9.0), window(14.5, 15.0)
    clustered = pd.Series(np.where(contiguous & window(10.0, 14.0), abs_bp, np.nan))
    autocorrelation = float(np.nanmean([clustered.autocorr(lag) for lag in range(1, 11)]))
    return MarketFigures(
        minutes=len(frame),
        sessions=len(full),
        median_price=float(frame["close"].median()),
        abs_return_median_rth_bp=float(np.median(np.abs(rth_returns))),
        abs_return_p95_rth_bp=float(np.quantile(np.abs(rth_returns), 0.95)),
        abs_return_median_overnight_bp=float(np.median(np.abs(overnight_returns))),
        abs_return_p95_overnight_bp=float(np.quantile(np.abs(overnight_returns), 0.95)),
        excess_kurtosis_rth=float(pd.Series(rth_returns).kurt()),
        abs_return_autocorrelation=autocorrelation,
        atr14_median_rth_bp=float(np.nanmedian(atr_bp[rth])),
        atr14_median_overnight_bp=float(np.nanmedian(atr_bp[~rth])),
        session_range_median_bp=float(((full["high"] - full["low"]) / full["close"]).median()
                                      * 1e4),
        rth_range_median_bp=float(((rth_sessions["high"] - rth_sessions["low"])
                                   / rth_sessions["close"]).median() * 1e4),
        volume_ratio_rth_overnight=_ratio(np.median(volume[rth]), np.median(volume[~rth])),
        volume_open_over_midday=_ratio(np.median(volume[opening]), np.median(volume[midday])),
        volume_close_over_midday=_ratio(np.median(volume[closing]), np.median(volume[midday])),
        abs_return_open_over_midday=_ratio(np.nanmean(abs_bp[contiguous & opening]),
                                           np.nanmean(abs_bp[contiguous & midday])),
    )


def sessions_frame(market: SyntheticMarket, sessions: int) -> pd.DataFrame:
    """The first ``sessions`` sessions of a synthetic market, as ``market_figures`` reads bars."""
    parts = []
    for session, _ in zip(market.iter_sessions(), range(sessions), strict=False):
        index = pd.DatetimeIndex(session.open_utc + pd.to_timedelta(session.offsets_s, unit="s"),
                                 name="ts")
        parts.append(pd.DataFrame({"open": session.open, "high": session.high,
                                   "low": session.low, "close": session.close,
                                   "volume": session.volume}, index=index))
    return pd.concat(parts)


def median_figures(figures: list[MarketFigures]) -> dict[str, float]:
    """Each figure's median over several series (e.g. seeds)."""
    names = figures[0].as_dict()
    return {name: float(np.median([f.as_dict()[name] for f in figures])) for name in names}


# The real series the synthetic market is calibrated against: ESZ25 once it was the front month
# (from the session opening Sunday 2025-09-14 17:00 CT; see ../shared/data/README.md).
REFERENCE_FILE = "ES_1min_2025-08-31_2025-11-03_utc.csv"
REFERENCE_FRONT_MONTH_FROM = pd.Timestamp("2025-09-14 22:00", tz="UTC")


def load_reference(data_dir: Path) -> pd.DataFrame:
    """The front-month part of the real ES one-minute file, read in place (never copied)."""
    bars = load_bars(data_dir / REFERENCE_FILE, timezone="UTC").bars
    return bars[bars.index >= REFERENCE_FRONT_MONTH_FROM]

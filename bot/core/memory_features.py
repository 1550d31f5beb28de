"""What a setup is, as numbers: its feature vector and the robust scaler that compares them.

A setup is a float32 vector of stationary features (``FEATURE_NAMES``, version
``FEATURE_SCHEMA_VERSION``: oscillators, and distances in ATRs rather than prices, the session
levels' included) with its side
and regime buckets. The scaler centres each feature on its median and divides by its MAD
(x1.4826), shrunk toward a typical spread while few setups are stored, so a constant feature
can never divide by zero and a handful of setups already gives sane distances. It is refitted
on every stored setup whenever the count reaches 1..8 or a power of two: a deterministic
function of the setups in the order they closed, so a memory rebuilt from the journal, live or
in a backtest, scales exactly alike.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np

from bot.core.llm_bias import LlmBiasState
from bot.core.session_levels import RELATIVE_NAMES, levels_over_atr
from shared.domain.memory import MemorySetup, ScalerSnapshot
from shared.domain.models import Features, Regime, Side

# Version 2 adds the session levels relative to price, (close - level) / ATR
# (``bot.core.session_levels``); setups stored under version 1 are left out (counted stale).
FEATURE_SCHEMA_VERSION = 2
FEATURE_NAMES: tuple[str, ...] = (
    "rsi", "rsi_change", "macd_over_atr", "macd_hist_over_atr", "ema_spread_over_atr",
    "close_vs_sma_over_atr", "bollinger_percent", "rate_of_change_pct", "volume_zscore",
    "body_over_atr", "atr_ratio", "realized_vol_pct", *RELATIVE_NAMES,
)
# A typical spread (MAD x 1.4826) of each feature at entry-like bars: ES 1-minute bars of
# 2025 and the synthetic market agree within ~20%. A fit on few setups is shrunk toward it, as
# if PRIOR_ROWS typical setups were stored too, so a handful of setups gives sane distances.
# The session levels' spreads (in ATRs, in RELATIVE_NAMES order) from the two 1-minute real
# files over every bar: 6-7 for VWAP, 8-31 for the others.
PRIOR_SCALE = np.float64([13.0, 4.0, 0.78, 0.23, 0.75, 2.7, 0.41, 0.036, 0.82, 0.6, 0.29,
                          0.0071, 7.0, 10.0, 12.0, 18.0, 29.0, 14.0, 7.5, 11.0])
PRIOR_ROWS = 8
MAD_TO_SIGMA = 1.4826
MAD_FLOOR = 1e-6  # no feature is ever divided by less
FULL_REFIT_BELOW = 8
TYPICAL_SAMPLE = 256  # rows (evenly spaced) for the mean pairwise distance
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def setup_vector(features: Features) -> tuple[float, ...]:
    """The features of a setup, float32-exact, in ``FEATURE_NAMES`` order (NaN if unknown)."""
    atr = features.atr_points
    per_atr = atr if math.isfinite(atr) and atr > 0 else math.nan
    values = (
        features.rsi, features.rsi - features.rsi_prev, features.macd / per_atr,
        features.macd_hist / per_atr, (features.ema_fast - features.ema_slow) / per_atr,
        (features.close - features.sma_slow) / per_atr, features.bollinger_percent,
        features.rate_of_change_pct, features.volume_zscore, features.body_over_atr,
        features.atr_ratio, features.realized_vol_pct, *levels_over_atr(features),
    )
    vector = np.asarray(values, dtype=np.float64)
    vector[~np.isfinite(vector)] = np.nan
    return tuple(float(v) for v in vector.astype(np.float32))


def make_setup(
    features: Features, regime: Regime, side: Side, decision_ts: datetime,
    llm_state: LlmBiasState | None = None,
) -> MemorySetup:
    """The setup of an entry decision at ``decision_ts`` (the LLM bias only while in force)."""
    in_force = llm_state is not None and decision_ts < llm_state.expires_at
    return MemorySetup(
        decision_ts=decision_ts, side=side, schema_version=FEATURE_SCHEMA_VERSION,
        vector=setup_vector(features),
        buckets=(regime.time_bucket.value, regime.volatility.value, regime.trend.value),
        llm_bias=llm_state.bias.value if in_force and llm_state else None,
        llm_confidence=llm_state.confidence if in_force and llm_state else None,
    )


def to_ns(ts: datetime) -> int:
    """Nanoseconds since the epoch, exactly (microsecond datetimes)."""
    return (ts - _EPOCH) // timedelta(microseconds=1) * 1000


def refit_due(count: int) -> bool:
    """Whether the scaler is refitted when the memory reaches ``count`` setups."""
    return 0 < count <= FULL_REFIT_BELOW or count & (count - 1) == 0


def fit_scaler(raw: np.ndarray) -> ScalerSnapshot:
    """Robust scaler of ``raw`` (rows x features) and the typical distance between its rows.

    Center = the median; scale = 1.4826 x MAD shrunk toward ``PRIOR_SCALE`` by ``PRIOR_ROWS``
    pseudo-rows (sqrt((n x mad² + k x prior²) / (n + k)), never below ``MAD_FLOOR``), so a
    constant feature cannot divide by zero. Typical distance = the mean pairwise distance of up
    to ``TYPICAL_SAMPLE`` evenly spaced rows, shrunk the same way toward sqrt(2 x features),
    the distance between two typical setups.
    """
    center, scale = [], []
    for column, prior in zip(raw.T.astype(np.float64), PRIOR_SCALE, strict=True):
        known = column[np.isfinite(column)]
        median = float(np.median(known)) if len(known) else 0.0
        sigma = MAD_TO_SIGMA * float(np.median(np.abs(known - median))) if len(known) else 0.0
        count = len(known)
        center.append(median)
        shrunk = math.sqrt((count * sigma**2 + PRIOR_ROWS * prior**2) / (count + PRIOR_ROWS))
        scale.append(max(shrunk, MAD_FLOOR))
    center32, scale32 = np.float32(center), np.float32(scale)
    sample = raw[np.unique(np.linspace(0, len(raw) - 1, min(len(raw), TYPICAL_SAMPLE)).astype(int))]
    prior_distance = math.sqrt(2 * raw.shape[1])
    pairwise = _mean_pairwise(scaled(sample, center32, scale32), prior_distance)
    typical = (len(raw) * pairwise + PRIOR_ROWS * prior_distance) / (len(raw) + PRIOR_ROWS)
    return ScalerSnapshot(FEATURE_SCHEMA_VERSION, FEATURE_NAMES, len(raw),
                          tuple(float(v) for v in center32), tuple(float(v) for v in scale32),
                          max(typical, MAD_FLOOR))


def scaled(raw: np.ndarray, center: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Rows scaled to float32 (an unknown feature sits at the median, 0)."""
    values = ((raw - center) / scale).astype(np.float32)
    values[np.isnan(values)] = 0.0
    return values


def _mean_pairwise(rows: np.ndarray, default: float) -> float:
    if len(rows) < 2:
        return default
    points = rows.astype(np.float64)
    squared = ((points[:, None, :] - points[None, :, :]) ** 2).sum(axis=2)
    return float(np.sqrt(squared[np.triu_indices(len(points), k=1)]).mean())

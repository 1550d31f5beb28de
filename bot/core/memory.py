"""Memory of past setups: feature vectors at entry, an appendable index, exact radius search.

A setup is a float32 vector of stationary features (``FEATURE_NAMES``, version
``FEATURE_SCHEMA_VERSION``) with its side and regime buckets. Closed setups are appended to
numpy matrices that grow by doubling, one per side. Features are robust-scaled (median / MAD,
shrunk toward a typical spread while few setups are stored, so a constant feature cannot divide
by zero); the scaler is refitted on every
stored row whenever the count reaches 1..8 or a power of two, so it is a deterministic function
of the setups in the order they closed: a memory rebuilt from the journal, live or in a
backtest, scales exactly alike. A query finds every same-side setup within ``radius`` typical
distances (the mean pairwise distance at the last fit, DI-style), preferring the same buckets
and falling back to all same-side setups when the bucket is too thin; weights are
exp(-d²/2h²) times a recency half-life measured from the decision time. Only setups closed at
or before the decision time can be found.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np

from bot.core.llm_bias import LlmBiasState
from bot.core.memory_guard import (
    NEIGHBOURS_KEPT,
    NO_EVIDENCE,
    Evidence,
    MemoryVerdict,
    Neighbour,
    cold_start,
    cold_start_size,
    judge,
)
from shared.config.settings import MemoryConfig
from shared.domain.memory import MemoryOutcome, MemoryRow, MemorySetup, ScalerSnapshot
from shared.domain.models import Features, Regime, Side

FEATURE_SCHEMA_VERSION = 1
FEATURE_NAMES: tuple[str, ...] = (
    "rsi", "rsi_change", "macd_over_atr", "macd_hist_over_atr", "ema_spread_over_atr",
    "close_vs_sma_over_atr", "bollinger_percent", "rate_of_change_pct", "volume_zscore",
    "body_over_atr", "atr_ratio", "realized_vol_pct",
)
# A typical spread (MAD x 1.4826) of each feature at entry-like bars: ES 1-minute bars of
# 2025 and the synthetic market agree within ~20%. A fit on few setups is shrunk toward it, as
# if PRIOR_ROWS typical setups were stored too, so a handful of setups gives sane distances.
PRIOR_SCALE = np.float64([13.0, 4.0, 0.78, 0.23, 0.75, 2.7, 0.41, 0.036, 0.82, 0.6, 0.29,
                          0.0071])
PRIOR_ROWS = 8
MAD_TO_SIGMA = 1.4826
MAD_FLOOR = 1e-6  # no feature is ever divided by less
FULL_REFIT_BELOW = 8
TYPICAL_SAMPLE = 256  # rows (evenly spaced) for the mean pairwise distance
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NS_PER_DAY = 86_400 * 10**9


def setup_vector(features: Features) -> tuple[float, ...]:
    """The features of a setup, float32-exact, in ``FEATURE_NAMES`` order (NaN if unknown)."""
    atr = features.atr_points
    per_atr = atr if math.isfinite(atr) and atr > 0 else math.nan
    values = (
        features.rsi, features.rsi - features.rsi_prev, features.macd / per_atr,
        features.macd_hist / per_atr, (features.ema_fast - features.ema_slow) / per_atr,
        (features.close - features.sma_slow) / per_atr, features.bollinger_percent,
        features.rate_of_change_pct, features.volume_zscore, features.body_over_atr,
        features.atr_ratio, features.realized_vol_pct,
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
    pairwise = _mean_pairwise(_scaled(sample, center32, scale32), prior_distance)
    typical = (len(raw) * pairwise + PRIOR_ROWS * prior_distance) / (len(raw) + PRIOR_ROWS)
    return ScalerSnapshot(FEATURE_SCHEMA_VERSION, FEATURE_NAMES, len(raw),
                          tuple(float(v) for v in center32), tuple(float(v) for v in scale32),
                          max(typical, MAD_FLOOR))


def _scaled(raw: np.ndarray, center: np.ndarray, scale: np.ndarray) -> np.ndarray:
    scaled = ((raw - center) / scale).astype(np.float32)
    scaled[np.isnan(scaled)] = 0.0  # an unknown feature sits at the median
    return scaled


def _mean_pairwise(rows: np.ndarray, default: float) -> float:
    if len(rows) < 2:
        return default
    points = rows.astype(np.float64)
    squared = ((points[:, None, :] - points[None, :, :]) ** 2).sum(axis=2)
    return float(np.sqrt(squared[np.triu_indices(len(points), k=1)]).mean())


class _SideRows:
    """One side's closed setups as growing columns: scaled features, bucket, close time, win."""

    def __init__(self, dims: int, capacity: int = 256) -> None:
        self.n = 0
        self.scaled = np.empty((capacity, dims), dtype=np.float32)
        self.bucket = np.empty(capacity, dtype=np.int32)
        self.close_ns = np.empty(capacity, dtype=np.int64)
        self.win = np.empty(capacity, dtype=np.float64)
        self.row = np.empty(capacity, dtype=np.int64)  # position in MemoryIndex.rows

    def append(self, scaled: np.ndarray, bucket: int, close_ns: int, win: bool, row: int) -> None:
        if self.n == len(self.bucket):
            for name in ("scaled", "bucket", "close_ns", "win", "row"):
                old = getattr(self, name)
                grown = np.empty((2 * len(old), *old.shape[1:]), dtype=old.dtype)
                grown[: self.n] = old[: self.n]
                setattr(self, name, grown)
        i = self.n
        self.scaled[i], self.bucket[i], self.close_ns[i] = scaled, bucket, close_ns
        self.win[i], self.row[i] = float(win), row
        self.n += 1


class MemoryIndex:
    """Closed setups with their outcomes, appended in the order they closed; queried per entry."""

    def __init__(self) -> None:
        self._dims = len(FEATURE_NAMES)
        self._raw = np.empty((256, self._dims), dtype=np.float32)
        self._rows: list[MemoryRow] = []
        self._outcomes: list[MemoryOutcome] = []
        self._sides = {side: _SideRows(self._dims) for side in Side}
        self._buckets: dict[tuple[str, ...], int] = {}
        self.scaler: ScalerSnapshot | None = None
        self._center = np.zeros(self._dims, dtype=np.float32)
        self._scale = np.ones(self._dims, dtype=np.float32)

    @classmethod
    def from_rows(cls, rows: list[MemoryRow]) -> MemoryIndex:
        """An index rebuilt from stored closed rows (oldest close first)."""
        index = cls()
        for row in rows:
            index.add(row)
        return index

    def __len__(self) -> int:
        return len(self._rows)

    @property
    def rows(self) -> tuple[MemoryRow, ...]:
        """Every stored closed setup, in the order it was added."""
        return tuple(self._rows)

    def add(self, row: MemoryRow) -> ScalerSnapshot | None:
        """Append a closed setup; return the new scaler when this addition refitted it."""
        outcome = row.outcome
        if outcome is None:
            raise ValueError(f"memory row {row.bracket_id} has no outcome: only closed setups")
        if row.setup.schema_version != FEATURE_SCHEMA_VERSION:
            raise ValueError(f"memory row {row.bracket_id}: feature schema "
                             f"{row.setup.schema_version}, expected {FEATURE_SCHEMA_VERSION}")
        count = len(self._rows)
        if count == len(self._raw):
            grown = np.empty((2 * count, self._dims), dtype=np.float32)
            grown[:count] = self._raw
            self._raw = grown
        self._raw[count] = row.setup.vector
        self._rows.append(row)
        self._outcomes.append(outcome)
        bucket = self._buckets.setdefault(row.setup.buckets, len(self._buckets))
        scaled = _scaled(self._raw[count : count + 1], self._center, self._scale)[0]
        self._sides[row.setup.side].append(scaled, bucket, to_ns(outcome.close_ts), outcome.win,
                                           count)
        if not refit_due(count + 1):
            return None
        self._refit()
        return self.scaler

    def _refit(self) -> None:
        count = len(self._rows)
        self.scaler = fit_scaler(self._raw[:count])
        self._center = np.float32(self.scaler.center)
        self._scale = np.float32(self.scaler.scale)
        for side in self._sides.values():
            side.scaled[: side.n] = _scaled(self._raw[side.row[: side.n]], self._center,
                                            self._scale)

    def query(self, setup: MemorySetup, at: datetime, cfg: MemoryConfig) -> MemoryVerdict:
        """The memory verdict for an entry decided at ``at`` (the decision time)."""
        stored = len(self._rows)
        if stored < cold_start_size(cfg):
            return cold_start(stored, cfg)
        side = self._sides[setup.side]
        if side.n == 0 or self.scaler is None:
            return judge(NO_EVIDENCE, stored, False, cfg)
        at_ns = to_ns(at)
        point = _scaled(np.float32([setup.vector]), self._center, self._scale)[0]
        diff = side.scaled[: side.n] - point
        squared = np.einsum("ij,ij->i", diff, diff)
        typical = self.scaler.typical_distance
        weigh = _Weigher(self, side, squared, at_ns, typical, cfg)
        near = (squared <= (cfg.radius * typical) ** 2) & (side.close_ns[: side.n] <= at_ns)
        bucket = self._buckets.get(setup.buckets, -1)
        chosen = np.flatnonzero(near & (side.bucket[: side.n] == bucket))
        evidence = weigh(chosen)
        fallback = False
        if evidence.effective_count < max(cfg.min_similar_trades, 1):
            wide = np.flatnonzero(near)
            if len(wide) > len(chosen):
                evidence, fallback = weigh(wide), True
        return judge(evidence, stored, fallback, cfg)

    def neighbour(self, row_index: int, distance: float, weight: float) -> Neighbour:
        """Stored row ``row_index`` as a neighbour at ``distance`` typical distances."""
        row, outcome = self._rows[row_index], self._outcomes[row_index]
        return Neighbour(row.bracket_id, distance, weight, outcome.pnl_net_cents,
                         outcome.r_multiple, outcome.exit_reason, row.setup.decision_ts,
                         outcome.close_ts)


class _Weigher:
    """Kernel x recency weights of chosen rows, their Kish count and weighted win rate."""

    def __init__(self, index: MemoryIndex, side: _SideRows, squared: np.ndarray, at_ns: int,
                 typical: float, cfg: MemoryConfig) -> None:
        self.index, self.side, self.squared, self.at_ns = index, side, squared, at_ns
        self.typical, self.cfg = typical, cfg

    def __call__(self, chosen: np.ndarray) -> Evidence:
        if len(chosen) == 0:
            return NO_EVIDENCE
        side, cfg = self.side, self.cfg
        width = cfg.bandwidth * self.typical
        near_sq = self.squared[chosen].astype(np.float64)
        age_days = (self.at_ns - side.close_ns[chosen]) / _NS_PER_DAY
        log_weight = -near_sq / (2 * width * width) - math.log(2) * age_days / cfg.half_life_days
        weight = np.exp(log_weight - log_weight.max())  # relative weights: no underflow
        total = float(weight.sum())
        effective = total * total / float((weight * weight).sum())
        win_rate = float((weight * side.win[chosen]).sum()) / total
        nearest = np.argsort(near_sq, kind="stable")[:NEIGHBOURS_KEPT]
        neighbours = tuple(
            self.index.neighbour(int(side.row[chosen[i]]), math.sqrt(near_sq[i]) / self.typical,
                                 float(weight[i]))
            for i in nearest
        )
        return Evidence(len(chosen), effective, win_rate, neighbours)

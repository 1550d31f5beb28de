"""Memory of past setups: an appendable index of closed setups and exact radius search.

Closed setups (``bot.core.memory_features``: vectors and scaler) are appended, in the order
they closed, to numpy columns that grow by doubling, one set per side; a refit rescales them.
A query (``MemoryIndex.query(setup, at, cfg) -> MemoryVerdict``) finds every same-side setup
within ``radius`` typical distances (the mean pairwise distance at the last fit, DI-style), so
"nothing similar" is a possible answer; it prefers the same buckets and falls back to all
same-side setups when the bucket is too thin. Weights are exp(-d²/2h²) times a recency
half-life measured from the decision time ``at`` (never the wall clock); only setups closed at
or before ``at`` can be found. The guard (``bot.core.memory_guard``) turns the evidence into a
verdict; every closed setup, a taken trade or a refused entry's shadow (``MemoryRow.shadow``),
counts alike.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import NamedTuple

import numpy as np

from bot.core.memory_features import (
    FEATURE_NAMES,
    FEATURE_SCHEMA_VERSION,
    PRIOR_ROWS,
    PRIOR_SCALE,
    fit_scaler,
    make_setup,
    refit_due,
    scaled,
    setup_vector,
    to_ns,
)
from bot.core.memory_guard import (
    NEIGHBOURS_KEPT,
    NO_EVIDENCE,
    Evidence,
    MemoryVerdict,
    Neighbour,
    judge,
)
from shared.config.settings import MemoryConfig
from shared.domain.memory import MemoryOutcome, MemoryRow, MemorySetup, ScalerSnapshot
from shared.domain.models import Side

__all__ = [
    "FEATURE_NAMES", "FEATURE_SCHEMA_VERSION", "PRIOR_ROWS", "PRIOR_SCALE", "MemoryIndex",
    "fit_scaler", "make_setup", "refit_due", "setup_vector",
]
_NS_PER_DAY = 86_400 * 10**9


class _SideRows:
    """One side's closed setups: scaled features (one row per feature), bucket, close, win, R."""

    def __init__(self, dims: int, capacity: int = 256) -> None:
        self.n = 0
        self.in_close_order = True  # then "closed by at" is a prefix, found by bisection
        self.scaled = np.empty((dims, capacity), dtype=np.float32)
        self.bucket = np.empty(capacity, dtype=np.int32)
        self.close_ns = np.empty(capacity, dtype=np.int64)
        self.win = np.empty(capacity, dtype=np.float64)
        self.r = np.empty(capacity, dtype=np.float64)
        self.row = np.empty(capacity, dtype=np.int64)  # position in MemoryIndex.rows
        self._work = np.empty((dims, capacity), dtype=np.float32)

    def append(self, values: np.ndarray, bucket: int, close_ns: int, outcome: MemoryOutcome,
               row: int) -> None:
        """Add one scaled setup (amortised: the columns double when full)."""
        capacity = len(self.bucket)
        if self.n == capacity:
            grown = np.empty((self.scaled.shape[0], 2 * capacity), dtype=np.float32)
            grown[:, : self.n] = self.scaled[:, : self.n]
            self.scaled = grown
            for name in ("bucket", "close_ns", "win", "r", "row"):
                old = getattr(self, name)
                setattr(self, name, np.concatenate([old, np.empty_like(old)]))
            self._work = np.empty_like(grown)
        i = self.n
        if i and close_ns < self.close_ns[i - 1]:
            self.in_close_order = False
        self.scaled[:, i], self.bucket[i], self.close_ns[i] = values, bucket, close_ns
        self.win[i], self.r[i], self.row[i] = float(outcome.win), outcome.r_multiple, row
        self.n += 1

    def squared_distances(self, point: np.ndarray, count: int) -> np.ndarray:
        """Squared distances of the first ``count`` setups to ``point``.

        The squares are summed over the feature axis, one feature after the other, so the same
        rows give the same bits wherever their arrays sit in memory.
        """
        work = self._work[:, :count]
        np.subtract(self.scaled[:, :count], point[:, None], out=work)
        np.multiply(work, work, out=work)
        return np.add.reduce(work, axis=0)


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
        self.shadow_count = 0  # closed setups that are refused entries' shadows

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
            self._raw = np.concatenate([self._raw, np.empty_like(self._raw)])
        self._raw[count] = row.setup.vector
        self._rows.append(row)
        self._outcomes.append(outcome)
        bucket = self._buckets.setdefault(row.setup.buckets, len(self._buckets))
        values = scaled(self._raw[count : count + 1], self._center, self._scale)[0]
        self._sides[row.setup.side].append(values, bucket, to_ns(outcome.close_ts), outcome,
                                           count)
        self.shadow_count += row.shadow
        if not refit_due(count + 1):
            return None
        self._refit()
        return self.scaler

    def _refit(self) -> None:
        self.scaler = fit_scaler(self._raw[: len(self._rows)])
        self._center = np.float32(self.scaler.center)
        self._scale = np.float32(self.scaler.scale)
        for side in self._sides.values():
            side.scaled[:, : side.n] = scaled(self._raw[side.row[: side.n]], self._center,
                                              self._scale).T

    def query(self, setup: MemorySetup, at: datetime, cfg: MemoryConfig,
              neighbours: bool = True) -> MemoryVerdict:
        """The memory verdict for an entry decided at ``at`` (the decision time).

        ``neighbours`` False leaves out the nearest setups (they only go to the journal).
        """
        stored = len(self._rows)
        side, scaler = self._sides[setup.side], self.scaler
        if side.n == 0 or scaler is None:
            return judge(NO_EVIDENCE, stored, False, cfg)
        at_ns = to_ns(at)
        count = side.n
        if side.in_close_order:
            count = int(np.searchsorted(side.close_ns[:count], at_ns, side="right"))
        point = scaled(np.float32([setup.vector]), self._center, self._scale)[0]
        squared = side.squared_distances(point, count)
        typical = scaler.typical_distance
        near = squared <= (cfg.radius * typical) ** 2
        if not side.in_close_order:
            near &= side.close_ns[:count] <= at_ns
        bucket = self._buckets.get(setup.buckets, -1)
        chosen = np.flatnonzero(near & (side.bucket[:count] == bucket))
        weigh = _Weigher(side, squared, at_ns, cfg.bandwidth * typical, cfg.half_life_days)
        found = weigh(chosen)
        fallback = False
        if found.effective < max(cfg.min_similar_trades, 1):
            wide = np.flatnonzero(near)
            if len(wide) > len(chosen):
                chosen, fallback = wide, True
                found = weigh(wide)
        if len(chosen) == 0:
            return judge(NO_EVIDENCE, stored, fallback, cfg)
        nearest = self._nearest(side, chosen, squared, found.weight, typical) if neighbours else ()
        return judge(Evidence(len(chosen), found.effective, found.win_rate, nearest, found.mean_r,
                              found.spread_r), stored, fallback, cfg)

    def _nearest(self, side: _SideRows, chosen: np.ndarray, squared: np.ndarray,
                 weight: np.ndarray, typical: float) -> tuple[Neighbour, ...]:
        near_sq = squared[chosen]
        if len(chosen) > NEIGHBOURS_KEPT:
            kept = np.argpartition(near_sq, NEIGHBOURS_KEPT)[:NEIGHBOURS_KEPT]
            order = kept[np.lexsort((kept, near_sq[kept]))]  # by distance, then by position
        else:
            order = np.argsort(near_sq, kind="stable")
        positions = side.row[chosen[order]].tolist()
        distances = (np.sqrt(near_sq[order].astype(np.float64)) / typical).tolist()
        found = []
        for position, distance, relative in zip(positions, distances, weight[order].tolist(),
                                                strict=True):
            row, outcome = self._rows[position], self._outcomes[position]
            found.append(Neighbour(row.bracket_id, distance, relative, outcome.pnl_net_cents,
                                   outcome.r_multiple, outcome.exit_reason,
                                   row.setup.decision_ts, outcome.close_ts))
        return tuple(found)


class _Weighed(NamedTuple):
    """Chosen rows' Kish count, weighted win rate, mean and spread of R, relative weights."""

    effective: float
    win_rate: float | None
    mean_r: float | None
    spread_r: float
    weight: np.ndarray


_NONE_WEIGHED = _Weighed(0.0, None, None, 0.0, np.empty(0))


class _Weigher:
    """Kernel x recency weights of chosen rows and what they say (``_Weighed``)."""

    def __init__(self, side: _SideRows, squared: np.ndarray, at_ns: int, width: float,
                 half_life_days: float) -> None:
        self.side, self.squared, self.at_ns = side, squared, at_ns
        self.width, self.half_life_days = width, half_life_days

    def __call__(self, chosen: np.ndarray) -> _Weighed:
        """What the chosen rows say, weighted (weights relative to the heaviest)."""
        if len(chosen) == 0:
            return _NONE_WEIGHED
        near_sq = self.squared[chosen].astype(np.float64)
        age_days = (self.at_ns - self.side.close_ns[chosen]) / _NS_PER_DAY
        log_weight = (-near_sq / (2 * self.width * self.width)
                      - math.log(2) * age_days / self.half_life_days)
        weight = np.exp(log_weight - log_weight.max())  # relative weights: no underflow
        total = float(weight.sum())
        effective = total * total / float(weight @ weight)
        r = self.side.r[chosen]
        mean_r = float(weight @ r) / total
        deviation = r - mean_r
        spread_r = math.sqrt(max(0.0, float(weight @ (deviation * deviation)) / total))
        return _Weighed(effective, float(weight @ self.side.win[chosen]) / total, mean_r,
                        spread_r, weight)

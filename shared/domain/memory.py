"""Memory of past setups, as values: a setup at entry, its outcome once closed, the scaler.

A *setup* is what the market looked like when the engine decided to enter: a numeric feature
vector (float32 values, in the order its schema version names), the side, the regime buckets and
the LLM bias in force. Its *outcome* is known only when the bracket closes. The decision core
(``bot.core.memory``) indexes them; the journal stores them in the ``memory`` table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.domain.models import Side

BUCKET_NAMES: tuple[str, ...] = ("time_bucket", "volatility", "trend")
"""The regime labels a setup is bucketed by, in the order of ``MemorySetup.buckets``."""


@dataclass(frozen=True, slots=True)
class MemorySetup:
    """The market at an entry decision (``decision_ts`` is the decision's bar-close time)."""

    decision_ts: datetime
    side: Side
    schema_version: int
    vector: tuple[float, ...]  # float32-exact values, NaN where a feature was unknown
    buckets: tuple[str, ...]  # values of BUCKET_NAMES
    llm_bias: str | None = None
    llm_confidence: float | None = None

    @property
    def bucket_labels(self) -> dict[str, str]:
        """The buckets by name."""
        return dict(zip(BUCKET_NAMES, self.buckets, strict=True))


@dataclass(frozen=True, slots=True)
class MemoryOutcome:
    """How a setup's bracket ended: net P&L, P&L in units of the initial risk, why, when."""

    pnl_net_cents: int
    r_multiple: float
    exit_reason: str
    close_ts: datetime

    @property
    def win(self) -> bool:
        """A win is a positive net P&L (commission included)."""
        return self.pnl_net_cents > 0


@dataclass(frozen=True, slots=True)
class ShadowPlan:
    """The bracket a refused entry would have had, followed as a shadow to where it exits."""

    stop_price: float
    target_price: float
    contracts: int


@dataclass(frozen=True, slots=True)
class MemoryRow:
    """One stored setup: its bracket, the initial risk, and the outcome (None while open).

    A row with a ``shadow_plan`` is an entry that was refused: its outcome is where that bracket
    would have exited (the shadow's fill model, net of a round trip's commission), learned once
    it closed.
    """

    bracket_id: str
    setup: MemorySetup
    risk_cents: int
    outcome: MemoryOutcome | None = None
    shadow_plan: ShadowPlan | None = None

    @property
    def shadow(self) -> bool:
        """Whether this setup is a refused entry's shadow rather than a taken trade."""
        return self.shadow_plan is not None


@dataclass(frozen=True, slots=True)
class ScalerSnapshot:
    """A fitted robust scaler: per-feature median and scale, and the typical distance.

    ``fitted_rows`` is how many stored setups (in the order they closed) it was fitted on;
    the scaler is a deterministic function of those rows, so a rebuilt memory refits it equally.
    """

    schema_version: int
    feature_names: tuple[str, ...]
    fitted_rows: int
    center: tuple[float, ...]
    scale: tuple[float, ...]
    typical_distance: float

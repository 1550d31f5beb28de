"""The ``memory`` section: the memory of past setups and how it adjusts confidence."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from shared.config.sections.base import HOT, Section


class MemoryConfig(Section):
    """Memory of past setups: refuse or scale an entry by how similar past setups ended.

    Env overrides: MIN_SIMILAR_TRADES, MIN_WEIGHTED_WIN_RATE. Distances are in units of the
    typical distance between stored setups (robust-scaled features). The verdict rests on the
    expected R per trade of similar setups (``min_expected_r``); setting
    ``min_weighted_win_rate`` brings back the older win-rate test instead.
    """

    enabled: bool = Field(False, description="Consult and build the memory at entry decisions")
    min_similar_trades: int = Field(
        0, ge=0, le=10_000, json_schema_extra=HOT,
        description="Hold unless the effective count of similar closed setups reaches this, "
        "whatever memory's size (cold start included); 0 = no count floor",
    )
    min_expected_r: float = Field(
        -0.2, ge=-5, le=5, json_schema_extra=HOT,
        description="Refuse when the lower confidence bound of similar setups' weighted mean R "
        "(expected P&L per trade in units of the initial risk) is below this",
    )
    expected_r_z: float = Field(
        1.0, ge=0, le=5, json_schema_extra=HOT,
        description="The bound is mean R - z x spread / sqrt(effective count): larger z demands "
        "more evidence before an entry is allowed",
    )
    min_weighted_win_rate: float | None = Field(
        None, ge=0, le=1, json_schema_extra=HOT,
        description="Legacy: when set, entries need at least this weighted win rate among "
        "similar setups instead of the expected-R test; empty = expected R",
    )
    max_adjustment: float = Field(
        0.10, ge=0, le=0.5, json_schema_extra=HOT,
        description="Largest confidence change memory may make, up or down",
    )
    cold_start: Literal["allow", "refuse"] = Field(
        "allow", json_schema_extra=HOT,
        description="While memory holds fewer than cold_start_setups closed setups: allow "
        "entries without the expected-R test (min_similar_trades still applies) or refuse them",
    )
    cold_start_setups: int = Field(
        100, ge=0, le=1_000_000, json_schema_extra=HOT,
        description="Cold start lasts while memory holds fewer closed setups than this (real "
        "and shadow); 0 = no cold start. A young memory knows too little to judge",
    )
    radius: float = Field(
        0.5, gt=0, le=10, json_schema_extra=HOT,
        description="Similar = within this many typical distances (DI-style)",
    )
    bandwidth: float = Field(
        0.25, gt=0, le=10, json_schema_extra=HOT,
        description="Kernel width h, in typical distances: weight exp(-d^2 / 2h^2)",
    )
    half_life_days: float = Field(
        30.0, gt=0, le=36_500, json_schema_extra=HOT,
        description="Recency: a setup's weight halves every this many days before the decision",
    )

"""The ``strategies`` section: each strategy's parameters and the ensemble's weights."""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from shared.config.sections.base import HOT, Section


class RsiMacdParams(Section):
    oversold: float = Field(30.0, ge=0, le=100)
    overbought: float = Field(70.0, ge=0, le=100)
    sentiment_weight: float = Field(0.2, ge=0, le=1)

    @model_validator(mode="after")
    def _oversold_below_overbought(self) -> RsiMacdParams:
        if self.oversold >= self.overbought:
            raise ValueError("oversold must be below overbought")
        return self


class MomentumReversalParams(Section):
    rsi_extreme_low: float = Field(25.0, ge=0, le=100)
    rsi_extreme_high: float = Field(75.0, ge=0, le=100)
    min_bollinger_excess: float = Field(0.0, ge=0, description="How far past a band, in %B")
    histogram_turn_tolerance: float = Field(
        0.2,
        ge=0,
        le=1,
        description="MACD histogram counts as turning when its move away from zero is under "
        "this fraction of its depth (0 = it must actually turn)",
    )

    @model_validator(mode="after")
    def _low_below_high(self) -> MomentumReversalParams:
        if self.rsi_extreme_low >= self.rsi_extreme_high:
            raise ValueError("rsi_extreme_low must be below rsi_extreme_high")
        return self


class BreakoutParams(Section):
    min_body_over_atr: float = Field(1.2, gt=0)
    min_volume_zscore: float = Field(1.5)


class OpeningRangeBreakoutParams(Section):
    """The opening-range breakout (not in the default ensemble: give it a weight to use it)."""

    min_break_over_atr: float = Field(
        0.25, ge=0, description="Close beyond the opening range by at least this many ATRs")
    vwap_confirms: bool = Field(
        True, description="Only when the close is on the break's side of the session VWAP")


# The strategy registry in bot/strategies is checked against this list by a test.
STRATEGY_NAMES: tuple[str, ...] = (
    "breakout", "momentum_reversal", "opening_range_breakout", "rsi_macd")


class StrategiesConfig(Section):
    """Which strategies vote, with what weight, and their parameters."""

    weights: dict[str, float] = Field(
        default_factory=lambda: {"rsi_macd": 1.0, "momentum_reversal": 1.0, "breakout": 1.0},
        json_schema_extra=HOT,
    )
    rsi_macd: RsiMacdParams = Field(default_factory=RsiMacdParams, json_schema_extra=HOT)
    momentum_reversal: MomentumReversalParams = Field(
        default_factory=MomentumReversalParams, json_schema_extra=HOT
    )
    breakout: BreakoutParams = Field(default_factory=BreakoutParams, json_schema_extra=HOT)
    opening_range_breakout: OpeningRangeBreakoutParams = Field(
        default_factory=OpeningRangeBreakoutParams, json_schema_extra=HOT)

    @field_validator("weights")
    @classmethod
    def _weights(cls, weights: dict[str, float]) -> dict[str, float]:
        if not weights:
            raise ValueError("at least one strategy must have a weight")
        unknown = sorted(set(weights) - set(STRATEGY_NAMES))
        if unknown:
            raise ValueError(
                f"unknown strategy {', '.join(unknown)}; known: {', '.join(STRATEGY_NAMES)}"
            )
        for name, weight in weights.items():
            if weight < 0:
                raise ValueError(f"weight of {name!r} must not be negative")
        if sum(weights.values()) <= 0:
            raise ValueError("the weights must not all be zero")
        return weights

"""The ``regime`` section: when new entries may be taken (volatility, trend, session)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from shared.config.sections.base import HOT, Section


class RegimeConfig(Section):
    """When the market may be traded. Volatility is ATR over its own baseline (the mean ATR of
    the last ``features.atr_baseline_bars`` bars), so the limits hold for any bar size and
    instrument; the volatility label comes from the same ratio, so it agrees with the refusal.
    """

    min_atr_ratio: float = Field(
        0.5, ge=0, json_schema_extra=HOT,
        description="Below this ATR / baseline: no entries (the market went quiet)",
    )
    max_atr_ratio: float = Field(
        3.0, gt=0, json_schema_extra=HOT,
        description="Above this ATR / baseline: no entries (a volatility spike)",
    )
    low_volatility_ratio: float = Field(
        0.75, ge=0, json_schema_extra=HOT, description="Label volatility low below this ratio"
    )
    high_volatility_ratio: float = Field(
        1.3, gt=0, json_schema_extra=HOT, description="Label volatility high above this ratio"
    )
    sessions: list[Literal["overnight", "pre_open", "open", "midday", "close"]] = Field(
        default_factory=lambda: ["overnight", "pre_open", "open", "midday", "close"],
        json_schema_extra=HOT,
        description="Time-of-day buckets in which new entries are allowed",
    )
    trend_spread_atr: float = Field(
        0.75, ge=0, json_schema_extra=HOT,
        description="EMA fast - slow spread, in ATRs, beyond which the trend label is up/down",
    )

    @model_validator(mode="after")
    def _ranges(self) -> RegimeConfig:
        if not (self.min_atr_ratio <= self.low_volatility_ratio < self.high_volatility_ratio
                <= self.max_atr_ratio):
            raise ValueError(
                "need min_atr_ratio <= low_volatility_ratio < high_volatility_ratio <= "
                "max_atr_ratio (a refused ratio must carry the matching label)"
            )
        return self

"""The ``features`` section: indicator periods, the window and the session levels."""

from __future__ import annotations

from pydantic import Field, model_validator

from shared.config.sections.base import Section

_NOT_BARS = ("window_bars", "opening_range_minutes")


class FeatureConfig(Section):
    """Indicator periods, in bars."""

    window_bars: int = Field(500, ge=60, le=5000)
    rsi_period: int = Field(14, ge=2)
    macd_fast: int = Field(12, ge=2)
    macd_slow: int = Field(26, ge=3)
    macd_signal: int = Field(9, ge=2)
    atr_period: int = Field(14, ge=2)
    atr_baseline_bars: int = Field(
        240, ge=10, description="ATR baseline: mean ATR over this many bars (the regime's ratio)"
    )
    ema_fast: int = Field(9, ge=2)
    ema_slow: int = Field(21, ge=3)
    sma_slow: int = Field(50, ge=3)
    bollinger_period: int = Field(20, ge=2)
    bollinger_std: float = Field(2.0, gt=0)
    rate_of_change_period: int = Field(12, ge=1)
    volume_z_period: int = Field(20, ge=3)
    realized_vol_bars: int = Field(60, ge=5)
    opening_range_minutes: int = Field(
        30, ge=1, le=390, description="Opening range: the first N minutes of RTH (08:30 CT)")

    @model_validator(mode="after")
    def _fast_below_slow(self) -> FeatureConfig:
        if self.macd_fast >= self.macd_slow:
            raise ValueError("macd_fast must be below macd_slow")
        if self.ema_fast >= self.ema_slow:
            raise ValueError("ema_fast must be below ema_slow")
        longer = [f"{name} ({value})" for name, value in self  # every int here is in bars
                  if isinstance(value, int) and name not in _NOT_BARS and value > self.window_bars]
        if longer:
            raise ValueError(f"{', '.join(longer)} longer than window_bars ({self.window_bars})")
        if self.atr_baseline_bars + self.atr_period - 1 > self.window_bars:
            raise ValueError(
                f"atr_baseline_bars ({self.atr_baseline_bars}) + atr_period "
                f"({self.atr_period}) - 1 must fit in window_bars ({self.window_bars})"
            )
        return self

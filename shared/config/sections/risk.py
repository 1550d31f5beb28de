"""The ``risk`` section: sizing, stops and targets, daily limits, cooldowns, disaster stop."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from shared.config.sections.base import HOT, Section


class RiskConfig(Section):
    """The risk manager's rules. It has the final say over every entry.

    Defaults fit the built-in market's 5-second bars (and hold for other bar sizes): stops of
    4.5 one-minute ATRs (~6 points at RTH midday, ~12 after the open, the 3-point floor
    overnight), targets 1.5 x the stop; about 9 trades per RTH session and one an hour
    overnight (benchmarks/bench_first_trade.py).
    """

    risk_per_trade_usd: float = Field(100.0, gt=0, json_schema_extra=HOT)
    max_contracts: int = Field(2, ge=1, le=100, json_schema_extra=HOT)
    atr_stop_multiplier: float = Field(
        4.5, gt=0, json_schema_extra=HOT,
        description="Stop in one-minute ATRs (a bar's ATR x sqrt(60 s / bar length))",
    )
    min_stop_points: float = Field(
        3.0, gt=0, json_schema_extra=HOT,
        description="Smallest stop, in points (well above a round trip's costs)",
    )
    reward_risk_ratio: float = Field(1.5, gt=0, json_schema_extra=HOT)
    confidence_threshold: float = Field(
        0.7, ge=0, le=1, json_schema_extra=HOT, description="Below this, size is halved"
    )
    min_weighted_confidence: float = Field(
        0.5, ge=0, le=1, json_schema_extra=HOT, description="Entries need more than this"
    )
    daily_loss_limit_usd: float = Field(300.0, gt=0, json_schema_extra=HOT)
    max_trades_per_day: int = Field(30, ge=1, json_schema_extra=HOT)
    cooldown_after_loss_minutes: float = Field(10.0, ge=0, json_schema_extra=HOT)
    max_consecutive_losses: int = Field(
        8, ge=1, json_schema_extra=HOT, description="This many losses in a row end the day"
    )
    no_entry_before_close_minutes: float = Field(15.0, ge=0, json_schema_extra=HOT)
    trailing_stop_enabled: bool = Field(True, json_schema_extra=HOT)
    trailing_activation_points: float = Field(6.0, gt=0, json_schema_extra=HOT)
    trailing_distance_points: float = Field(4.0, gt=0, json_schema_extra=HOT)
    max_hold_minutes: float = Field(90.0, gt=0, json_schema_extra=HOT)
    disaster_stop_usd: float = Field(500.0, gt=0, json_schema_extra=HOT)
    min_equity_usd: float = Field(
        0.0, ge=0, le=1e9, json_schema_extra=HOT,
        description="Equity (open P&L included) at or below this flattens and halts the bot "
        "(backtests stop there too, like backtest.ruin_equity_usd)",
    )
    entry_order_type: Literal["market", "limit"] = Field("market", json_schema_extra=HOT)
    limit_offset_ticks: int = Field(0, ge=0, le=40, json_schema_extra=HOT)

"""The protections section: limits a day trader sets on top of the risk manager's fixed rules.

Every protection is off by default, so a config without this section trades exactly as before
(the backtest parity with the reference stays trade-for-trade). Percentages are of the account's
equity at the start of the trading day (starting equity plus every closed trade's net P&L); where
a percentage and the fixed dollar limit of ``risk`` are both given, the smaller limit applies.
"""

from __future__ import annotations

from pydantic import ConfigDict, Field, field_validator, model_validator

from shared.config.bounds import BoundedModel

HOT = {"hot_reload": True}
MAX_DRAWDOWN_SESSIONS = 20  # the longest multi-day window (the bot keeps this many days' P&L)


class ProtectionsConfig(BoundedModel):
    """% of equity limits, daily profit target and give-back lock, multi-day drawdown pause and
    economic-release blackouts. 0 (or an empty list) switches each one off."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    risk_per_trade_pct: float = Field(
        0.0, ge=0, le=100, json_schema_extra=HOT,
        description="Risk per trade as % of equity; with risk.risk_per_trade_usd the smaller "
        "applies (0 = off)",
    )
    daily_loss_limit_pct: float = Field(
        0.0, ge=0, le=100, json_schema_extra=HOT,
        description="Daily loss cap as % of equity; with risk.daily_loss_limit_usd the smaller "
        "applies (0 = off)",
    )
    max_exposure_pct: float = Field(
        0.0, ge=0, le=10_000, json_schema_extra=HOT,
        description="Largest position notional (contracts x price x point value) as % of "
        "equity; fewer contracts, or no entry (0 = off)",
    )
    daily_profit_target_usd: float = Field(
        0.0, ge=0, json_schema_extra=HOT,
        description="No new entries once the day's P&L (open P&L included) has reached this "
        "(0 = off)",
    )
    giveback_pct: float = Field(
        0.0, ge=0, le=100, json_schema_extra=HOT,
        description="No new entries after giving back this % of the day's peak P&L (open P&L "
        "included; 0 = off)",
    )
    giveback_min_peak_usd: float = Field(
        100.0, ge=0, json_schema_extra=HOT,
        description="The give-back lock arms only once the day's peak reached this",
    )
    drawdown_sessions: int = Field(
        0, ge=0, le=MAX_DRAWDOWN_SESSIONS, json_schema_extra=HOT,
        description="Multi-day pause over the last N trading sessions, today included (0 = "
        "off; set with drawdown_limit_usd)",
    )
    drawdown_limit_usd: float = Field(
        0.0, ge=0, json_schema_extra=HOT,
        description="No new entries while those sessions' net closed P&L is at or below minus "
        "this",
    )
    blackout_events: tuple[str, ...] = Field(
        (), description="Release kinds that block entries, e.g. [CPI, NFP, FOMC] (empty = off)",
    )
    blackout_before_minutes: float = Field(
        15.0, ge=0, le=1440, json_schema_extra=HOT,
        description="No entries from this long before a listed release",
    )
    blackout_after_minutes: float = Field(
        15.0, ge=0, le=1440, json_schema_extra=HOT, description="... and until this long after it",
    )
    flatten_before_release_minutes: float = Field(
        0.0, ge=0, le=1440, json_schema_extra=HOT,
        description="Exit an open position this long before a listed release (0 = off)",
    )
    releases_file: str = Field(
        "", description="CSV of release times; empty = the file shipped in "
        "shared/calendars/economic_releases.csv",
    )

    @field_validator("blackout_events")
    @classmethod
    def _event_names(cls, events: tuple[str, ...]) -> tuple[str, ...]:
        names = tuple(e.strip().upper() for e in events)
        if any(not n for n in names):
            raise ValueError("an empty release kind")
        return names

    @model_validator(mode="after")
    def _pairs(self) -> ProtectionsConfig:
        if (self.drawdown_sessions > 0) != (self.drawdown_limit_usd > 0):
            raise ValueError("drawdown_sessions and drawdown_limit_usd are set together "
                             "(both 0 = off)")
        if self.flatten_before_release_minutes > 0 and not self.blackout_events:
            raise ValueError("flatten_before_release_minutes needs blackout_events "
                             "(which releases to flatten before)")
        if self.flatten_before_release_minutes > self.blackout_before_minutes:
            raise ValueError("flatten_before_release_minutes must not exceed "
                             "blackout_before_minutes (an entry would be flattened at once)")
        return self

    @property
    def marks_open_pnl(self) -> bool:
        """Whether a rule needs the day's P&L (open included) marked on every bar."""
        return self.daily_profit_target_usd > 0 or self.giveback_pct > 0

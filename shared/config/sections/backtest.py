"""The ``backtest`` section: costs, starting equity and data folders of backtests."""

from __future__ import annotations

from pydantic import Field, model_validator

from shared.config.sections.base import HOT, Section


class BacktestConfig(Section):
    """Account size, costs and the ruin stop of backtests."""

    starting_equity_usd: float = Field(25_000.0, gt=0)
    slippage_ticks: int = Field(1, ge=0, le=20)
    ruin_equity_usd: float = Field(
        0.0, ge=0, description="Equity (open P&L included) at or below this stops a backtest: "
        "flatten, no more entries. 0 = the account is wiped out; set your broker's initial "
        "margin (it changes) to stop when one more contract could not be held",
    )
    data_folders: list[str] = Field(
        default_factory=list, max_length=20, json_schema_extra=HOT,
        description="Server folders the dashboard's file fields may read from, besides the "
        "journal's folder (data/) and the checkout's data/",
    )

    @model_validator(mode="after")
    def _ruin_below_start(self) -> BacktestConfig:
        if self.ruin_equity_usd >= self.starting_equity_usd:
            raise ValueError("ruin_equity_usd must be below starting_equity_usd")
        return self

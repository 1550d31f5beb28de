"""The ``broker`` section: the paper broker or Interactive Brokers, and paper costs."""

from __future__ import annotations

from pydantic import Field

from shared.config.sections.base import Section
from shared.domain.models import Mode


class BrokerConfig(Section):
    """Which broker the bot trades through. Live trading also needs TRADER_ALLOW_LIVE=yes."""

    mode: Mode = Field(Mode.PAPER, description="paper (built-in), ib_paper or ib_live")
    allow_live: bool = Field(False, description="Must be true, with the env flag, for ib_live")
    paper_slippage_ticks: int = Field(1, ge=0, le=20, description="Ticks against us per fill")
    paper_starting_equity_usd: float = Field(25_000.0, gt=0, description="Paper account size")

"""The ``instrument`` section: which contract the bot trades (MES or ES)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from shared.config.sections.base import Section


class InstrumentConfig(Section):
    """What is traded and what it costs per contract per side."""

    symbol: Literal["MES", "ES"] = Field("MES", description="MES ($5/point) or ES ($50/point)")
    commission_per_side_usd: float | None = Field(
        None, ge=0, le=50, description="Per contract per side; empty = $0.62 MES, $2.25 ES"
    )

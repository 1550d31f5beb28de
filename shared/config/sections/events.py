"""The ``events`` section: which market events ask the LLM, and their cooldown."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from shared.config.sections.base import HOT, Section


class EventsConfig(Section):
    """What makes the LLM worth asking: each trigger has its own cooldown."""

    triggers: list[Literal["market_open", "market_close", "volatility_spike", "news"]] = Field(
        default_factory=lambda: ["market_open", "market_close", "volatility_spike", "news"],
        json_schema_extra=HOT,
    )
    market_open_offset_minutes: float = Field(5.0, ge=0, json_schema_extra=HOT)
    market_close_offset_minutes: float = Field(5.0, ge=0, json_schema_extra=HOT)
    volatility_spike_atr_ratio: float = Field(2.0, gt=1, json_schema_extra=HOT)
    cooldown_minutes: float = Field(30.0, ge=0, json_schema_extra=HOT)
    news_keywords: list[str] = Field(
        default_factory=lambda: ["CPI", "FOMC", "Fed", "NFP", "payrolls", "Powell", "rate"],
        json_schema_extra=HOT,
    )
    news_poll_seconds: float = Field(5.0, gt=0)
    sentiment_move_threshold: float = Field(
        0.5, ge=0, le=2, json_schema_extra=HOT,
        description="news trigger when the rolling sentiment moves this much within "
        "sentiment_move_minutes; 0 = off",
    )
    sentiment_move_minutes: float = Field(15.0, gt=0, le=1440, json_schema_extra=HOT)

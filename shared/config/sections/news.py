"""The ``news`` section: headline sources, the sentiment scorer and its window."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from shared.config.sections.base import HOT, Section


class NewsConfig(Section):
    """Headlines and their sentiment: sources (run by ``python -m bot news``) and the feature.

    Source and scorer settings apply when the news program restarts; the half-life applies to
    the next bar. AWS keys for Comprehend come from the environment only.
    """

    enabled: bool = Field(
        False, description="Collect headlines and pass the rolling sentiment to the strategies"
    )
    rss_urls: list[str] = Field(default_factory=list, description="RSS/Atom feed URLs to poll")
    rss_poll_seconds: float = Field(60.0, ge=1, le=86_400)
    rss_timeout_s: float = Field(10.0, gt=0, le=120, description="Per feed request")
    rss_max_bytes: int = Field(2_000_000, ge=10_000, le=50_000_000)
    rss_max_age_minutes: float = Field(
        120.0, gt=0, description="Skip entries published longer ago (a feed's backlog)"
    )
    ib_bulletins: bool = Field(False, description="IB news bulletins (reqNewsBulletins)")
    ib_providers: list[str] = Field(
        default_factory=list,
        description="IB broadtape news providers the account is entitled to, e.g. BRFG, DJNL",
    )
    ib_client_id: int = Field(19, ge=0, description="Own IB client id of the news program")
    dedupe_window_minutes: float = Field(
        720.0, ge=0, description="Same source and normalised text within this = duplicate"
    )
    retention_days: int = Field(30, ge=1, description="Headlines older than this are deleted")
    scorer: Literal["vader", "comprehend"] = Field(
        "vader", description="vader: local, free; comprehend: Amazon Comprehend (paid)"
    )
    comprehend_region: str = "us-east-1"
    comprehend_endpoint_url: str = Field("", description="Empty = AWS; set for a test endpoint")
    comprehend_language: str = "en"
    comprehend_usd_per_unit: float = Field(
        0.0001, ge=0, description="Price of 100 characters (one unit)"
    )
    comprehend_min_units: int = Field(3, ge=0, description="Billed minimum per document")
    comprehend_max_attempts: int = Field(
        4, ge=1, le=10, description="HTTP attempts per batch (throttling retried by us)"
    )
    comprehend_backoff_s: float = Field(1.0, ge=0, le=60, description="Doubles per retry")
    comprehend_timeout_s: float = Field(10.0, gt=0, le=120)
    comprehend_fallback_vader: bool = Field(
        True, description="Score with VADER what Comprehend could not (refused, failed)"
    )
    half_life_minutes: float = Field(
        30.0, gt=0, le=10_080, json_schema_extra=HOT,
        description="A headline's weight halves every this many minutes",
    )
    score_poll_seconds: float = Field(2.0, gt=0, le=600,
                                      description="News program: score new rows this often")

    @field_validator("rss_urls")
    @classmethod
    def _feed_urls(cls, urls: list[str]) -> list[str]:
        for url in urls:
            if not url.startswith(("http://", "https://")) or len(url) < 10:
                raise ValueError(f"{url!r} is not an http(s) feed URL")
        return urls

    @field_validator("ib_providers")
    @classmethod
    def _provider_codes(cls, codes: list[str]) -> list[str]:
        for code in codes:
            if not code.isalnum():
                raise ValueError(f"{code!r} is not an IB news provider code (letters, digits)")
        return [code.upper() for code in codes]

"""The ``learning`` section: the nightly review, its out-of-sample gate, the export."""

from __future__ import annotations

from pydantic import Field

from shared.config.sections.base import HOT, Section


class LearningConfig(Section):
    """The nightly review: which learned rules it may propose, and how they are gated.

    Rules are mined on the ``lookback_days`` trading days that end before the gate window, then
    judged out of sample on the last ``backtest_days`` days (ending on the reviewed day), which
    they were not mined from. Rules act only once a person approves them on the Memory page,
    or, with ``auto_apply``, when they passed that out-of-sample gate.
    """

    lookback_days: int = Field(
        20, ge=1, le=120, description="Trading days of trades mined, before the gate window")
    min_sample: int = Field(
        20, ge=1, le=1000, description="Trades a bucket needs (mining window) for any rule")
    min_losses: int = Field(
        3, ge=1, le=1000, description="Losses within the lookback that lock a bucket/side")
    rule_ttl_days: float = Field(
        5.0, gt=0, le=90, description="A proposed rule expires this long after its review day")
    backtest_days: int = Field(
        4, ge=1, le=60,
        description="Out-of-sample gate: the last trading days (journaled bars) the rule is "
                    "judged on, after its mining window")
    min_improvement_usd: float = Field(
        0.0, ge=0, description="The gate must improve net P&L by more than this")
    gate_alpha: float = Field(
        0.05, gt=0, lt=1,
        description="False discovery rate of one review's gate (Benjamini-Hochberg)")
    gate_permutations: int = Field(
        2000, ge=100, le=100_000, description="Placebo draws of the gate's permutation test")
    gate_seed: int = Field(0, ge=0, le=2**31 - 1, description="Seed of the gate's permutation test")
    probation_reviews: int = Field(
        30, ge=0, le=250,
        description="A candidate whose first gate acted on under min_sample trades stays on "
                    "probation up to this many reviews, adding each new day's trades to its "
                    "out-of-sample evidence until it acted on min_sample, then is tested once "
                    "more (0 = no probation)")
    probation_trades: int = Field(
        0, ge=0, le=1000,
        description="Trades a candidate on probation must have refused or changed out of "
                    "sample before its test (0 = min_sample)")
    auto_apply: bool = Field(
        False, description="Approve a proposal (author 'auto') when it passed out of sample")
    lesson: bool = Field(True, description="Ask the LLM (governed) for a short written lesson")
    lessons_in_prompt: int = Field(
        0, ge=0, le=5, json_schema_extra=HOT,
        description="Latest lessons added to LLM prompts as untrusted data (0 = none)")
    review_delay_minutes: float = Field(
        10.0, ge=0, le=600, description="The nightly review starts this long after the close")
    s3_endpoint_url: str = Field("", description="Training export S3 endpoint; empty = AWS")
    s3_region: str = Field("", description="Training export S3 region; empty = llm.aws_region")
    s3_daily_attempts: int = Field(
        200, ge=0, le=100_000, description="Governor: S3 upload attempts per day (all exports)")

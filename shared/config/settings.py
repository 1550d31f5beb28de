"""The one configuration model: every section, its defaults, validation and env overrides.

The model is frozen and rejects unknown keys, so a typo in ``config.yaml`` is an error, never a
silently ignored setting. A file holds only the keys it changes. Fields whose schema carries
``hot_reload`` are applied by a running bot within one loop iteration; the rest apply on restart.
Secrets (AWS keys, passwords) are never fields here: they come from the environment.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from shared.config.bounds import BoundedModel
from shared.config.finetune import FinetuneConfig
from shared.config.ib_gateway import RestartWindowConfig
from shared.config.learning_checks import gate_retention_problem
from shared.config.llm_routes import MAX_ROUTES, LlmRoute, duplicate_route_problem
from shared.config.maintenance import MaintenanceConfig
from shared.config.protections import ProtectionsConfig
from shared.config.retired import drop_retired
from shared.config.size_cap import oversize_problem
from shared.domain.alerts import AlertKind, AlertLevel, Channel, default_levels
from shared.domain.errors import ConfigError, ConfigFileError
from shared.domain.models import Mode

logger = logging.getLogger(__name__)

HOT = {"hot_reload": True}


class Section(BoundedModel):
    """Base of every section: unknown keys refused, frozen, numbers finite and bounded."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class InstrumentConfig(Section):
    """What is traded and what it costs per contract per side."""

    symbol: Literal["MES", "ES"] = Field("MES", description="MES ($5/point) or ES ($50/point)")
    commission_per_side_usd: float | None = Field(
        None, ge=0, le=50, description="Per contract per side; empty = $0.62 MES, $2.25 ES"
    )


class BrokerConfig(Section):
    """Which broker the bot trades through. Live trading also needs TRADER_ALLOW_LIVE=yes."""

    mode: Mode = Field(Mode.PAPER, description="paper (built-in), ib_paper or ib_live")
    allow_live: bool = Field(False, description="Must be true, with the env flag, for ib_live")
    paper_slippage_ticks: int = Field(1, ge=0, le=20, description="Ticks against us per fill")
    paper_starting_equity_usd: float = Field(25_000.0, gt=0, description="Paper account size")


class IbConfig(Section):
    """IB Gateway / TWS connection (used in ib_paper / ib_live)."""

    host: str = "127.0.0.1"
    port: int = Field(4002, ge=1, le=65535, description="4002 = IB Gateway paper")
    client_id: int = Field(17, ge=0)
    account: str = Field("", description="Account code; empty = the only one")
    exchange: str = "CME"
    connect_timeout_s: float = Field(10.0, gt=0)
    roll_days_before_expiry: int = Field(
        8, ge=0, le=60, description="Trade the next quarterly this many days before expiry"
    )
    reconnect_initial_s: float = Field(2.0, gt=0, description="First reconnect backoff")
    reconnect_max_s: float = Field(60.0, gt=0, description="Backoff doubles up to this")
    bar_timeout_s: float = Field(
        30.0, gt=0, description="No real-time bar for this long: cancel and re-request"
    )
    reject_pause_s: float = Field(
        300.0, ge=0, description="After IB rejects an entry, send no new entry for this long"
    )
    commission_wait_s: float = Field(
        2.0, gt=0, description="Wait this long for IB's commission report before estimating"
    )
    restart_window: RestartWindowConfig = Field(
        default_factory=RestartWindowConfig, description="IB Gateway's daily restart: "
        "disconnects inside it are expected events; no new entry around it")
    login_alert_after_minutes: float = Field(
        10.0, gt=0, description="Reconnects failing this long outside the restart window: "
        "ib_login_needed alert (IB Gateway waits for a login or 2FA)")

    @model_validator(mode="after")
    def _backoff_order(self) -> IbConfig:
        if self.reconnect_initial_s > self.reconnect_max_s:
            raise ValueError("reconnect_initial_s must not exceed reconnect_max_s")
        return self


class FeedConfig(Section):
    """Where bars come from: the built-in synthetic market, or a replay of a CSV/Parquet file."""

    source: Literal["synthetic", "replay"] = "synthetic"
    seed: int = Field(7, description="Seed of the synthetic market; same seed, same bars")
    speed: float = Field(1.0, gt=0, description="1 = real time; 100 = a hundred times faster")
    start: datetime | None = Field(None, description="First bar time (UTC); empty = now")
    start_price: float = Field(5000.0, gt=0)
    replay_path: str = Field("", description="CSV or Parquet file of bars for source=replay")
    replay_timezone: str = Field("UTC", description="Timezone of naive timestamps in the file")
    bar_seconds: int = Field(5, ge=1, le=3600)
    max_bars: int | None = Field(None, ge=1, description="Stop after this many bars (tests)")
    warm_start_minutes: float = Field(
        360.0, ge=0, le=7 * 24 * 60,
        description="First start of a synthetic market beginning now: play this much history "
        "first (at least features.window_bars bars) so indicators are warm and charts full; "
        "0 = off",
    )
    # The bad-print quarantine (bot/core/bar_quarantine.py), live and in backtests alike.
    bad_print_filter: bool = Field(
        True, description="Quarantine bars that jump beyond the limits below (OHLC, non-positive "
        "and non-finite prices are always refused)",
    )
    bad_print_window_bars: int = Field(
        60, ge=5, le=1000, description="Recent range = mean high-low of this many accepted bars",
    )
    bad_print_gap_ranges: float = Field(
        15.0, ge=2, le=1000, description="An open this many recent ranges (x sqrt of the bars "
        "elapsed) from the last close is a suspect print",
    )
    bad_print_spike_ranges: float = Field(
        80.0, ge=2, le=10_000, description="A high or low this many recent ranges (x sqrt of "
        "the bars elapsed) from the last close is a suspect print",
    )
    bad_print_min_range_ticks: int = Field(
        4, ge=1, le=10_000, description="Floor of the recent range, in ticks",
    )
    bad_print_confirm_bars: int = Field(
        2, ge=1, le=20, description="A jump the next this many bars hold is a level shift "
        "(a contract roll splice): accepted and flagged",
    )


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

    @model_validator(mode="after")
    def _fast_below_slow(self) -> FeatureConfig:
        if self.macd_fast >= self.macd_slow:
            raise ValueError("macd_fast must be below macd_slow")
        if self.ema_fast >= self.ema_slow:
            raise ValueError("ema_fast must be below ema_slow")
        longer = [f"{name} ({value})" for name, value in self  # every int here is in bars
                  if isinstance(value, int) and name != "window_bars" and value > self.window_bars]
        if longer:
            raise ValueError(f"{', '.join(longer)} longer than window_bars ({self.window_bars})")
        if self.atr_baseline_bars + self.atr_period - 1 > self.window_bars:
            raise ValueError(
                f"atr_baseline_bars ({self.atr_baseline_bars}) + atr_period "
                f"({self.atr_period}) - 1 must fit in window_bars ({self.window_bars})"
            )
        return self


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


class RsiMacdParams(Section):
    oversold: float = Field(30.0, ge=0, le=100)
    overbought: float = Field(70.0, ge=0, le=100)
    sentiment_weight: float = Field(0.2, ge=0, le=1)

    @model_validator(mode="after")
    def _oversold_below_overbought(self) -> RsiMacdParams:
        if self.oversold >= self.overbought:
            raise ValueError("oversold must be below overbought")
        return self


class MomentumReversalParams(Section):
    rsi_extreme_low: float = Field(25.0, ge=0, le=100)
    rsi_extreme_high: float = Field(75.0, ge=0, le=100)
    min_bollinger_excess: float = Field(0.0, ge=0, description="How far past a band, in %B")
    histogram_turn_tolerance: float = Field(
        0.2,
        ge=0,
        le=1,
        description="MACD histogram counts as turning when its move away from zero is under "
        "this fraction of its depth (0 = it must actually turn)",
    )

    @model_validator(mode="after")
    def _low_below_high(self) -> MomentumReversalParams:
        if self.rsi_extreme_low >= self.rsi_extreme_high:
            raise ValueError("rsi_extreme_low must be below rsi_extreme_high")
        return self


class BreakoutParams(Section):
    min_body_over_atr: float = Field(1.2, gt=0)
    min_volume_zscore: float = Field(1.5)


# The strategy registry in bot/strategies is checked against this list by a test.
STRATEGY_NAMES: tuple[str, ...] = ("breakout", "momentum_reversal", "rsi_macd")


class StrategiesConfig(Section):
    """Which strategies vote, with what weight, and their parameters."""

    weights: dict[str, float] = Field(
        default_factory=lambda: {"rsi_macd": 1.0, "momentum_reversal": 1.0, "breakout": 1.0},
        json_schema_extra=HOT,
    )
    rsi_macd: RsiMacdParams = Field(default_factory=RsiMacdParams, json_schema_extra=HOT)
    momentum_reversal: MomentumReversalParams = Field(
        default_factory=MomentumReversalParams, json_schema_extra=HOT
    )
    breakout: BreakoutParams = Field(default_factory=BreakoutParams, json_schema_extra=HOT)

    @field_validator("weights")
    @classmethod
    def _weights(cls, weights: dict[str, float]) -> dict[str, float]:
        if not weights:
            raise ValueError("at least one strategy must have a weight")
        unknown = sorted(set(weights) - set(STRATEGY_NAMES))
        if unknown:
            raise ValueError(
                f"unknown strategy {', '.join(unknown)}; known: {', '.join(STRATEGY_NAMES)}"
            )
        for name, weight in weights.items():
            if weight < 0:
                raise ValueError(f"weight of {name!r} must not be negative")
        if sum(weights.values()) <= 0:
            raise ValueError("the weights must not all be zero")
        return weights


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


class ModelPrice(Section):
    """On-demand price of one model, USD per 1,000 tokens, with prompt-cache multipliers."""

    input_per_1k_usd: float = Field(ge=0)
    output_per_1k_usd: float = Field(ge=0)
    cache_write_multiplier: float = Field(1.25, ge=0, description="Cache writes x input price")
    cache_read_multiplier: float = Field(0.1, ge=0, description="Cache reads x input price")
    regional_markup: float = Field(
        0.0, ge=0, le=1, description="Extra over global. for geo profiles (us., eu., ...)"
    )


def _price(p_in: float, p_out: float, regional: float = 0.0) -> ModelPrice:
    return ModelPrice(input_per_1k_usd=p_in, output_per_1k_usd=p_out, regional_markup=regional)


def default_model_prices() -> dict[str, ModelPrice]:
    """Bedrock on-demand prices keyed by base model id (geo prefixes are stripped on lookup)."""
    return {
        "anthropic.claude-haiku-4-5-20251001-v1:0": _price(0.001, 0.005, 0.10),
        "anthropic.claude-sonnet-4-5-20250929-v1:0": _price(0.003, 0.015, 0.10),
        "anthropic.claude-sonnet-4-6": _price(0.003, 0.015, 0.10),
        "anthropic.claude-opus-4-5-20251101-v1:0": _price(0.005, 0.025, 0.10),
        "anthropic.claude-opus-4-6-v1": _price(0.005, 0.025, 0.10),
        "anthropic.claude-opus-4-7": _price(0.005, 0.025, 0.10),
        "anthropic.claude-opus-4-1-20250805-v1:0": _price(0.015, 0.075),
        "anthropic.claude-opus-4-20250514-v1:0": _price(0.015, 0.075),
        "anthropic.claude-sonnet-4-20250514-v1:0": _price(0.003, 0.015),
        "anthropic.claude-3-5-haiku-20241022-v1:0": _price(0.0008, 0.004),
        "anthropic.claude-3-haiku-20240307-v1:0": _price(0.00025, 0.00125),
        "anthropic.claude-3-sonnet-20240229-v1:0": _price(0.003, 0.015),
        "anthropic.claude-3-5-sonnet-20240620-v1:0": _price(0.003, 0.015),
    }


class LlmConfig(Section):
    """The event-driven LLM: provider, how its bias is applied, and the daily governor.

    Keys come from the environment only (AWS_ACCESS_KEY_ID/AWS_PROFILE, OPENAI_API_KEY).
    """

    enabled: bool = Field(False, description="Start the LLM worker in the live bot")
    provider: Literal["none", "bedrock", "openai_compatible"] = "bedrock"
    mode: Literal["bias", "consensus", "advisory", "disabled"] = Field(
        "bias", json_schema_extra=HOT,
        description="bias: nudge confidence; consensus: trade only when it agrees; "
        "advisory: log only",
    )
    aws_region: str = "us-east-1"
    bedrock_model: str = Field(
        "us.anthropic.claude-haiku-4-5-20251001-v1:0", description="Model id or inference profile"
    )
    bedrock_endpoint_url: str = Field("", description="Empty = AWS; set for a VPC/test endpoint")
    openai_base_url: str = "http://127.0.0.1:11434/v1"
    openai_model: str = "llama3.1"
    max_boost: float = Field(0.10, ge=0, le=0.5, json_schema_extra=HOT)
    max_penalty: float = Field(0.15, ge=0, le=0.5, json_schema_extra=HOT)
    agree_scale: float = Field(0.15, ge=0, le=1, json_schema_extra=HOT,
                               description="Boost = min(max_boost, confidence x this)")
    disagree_scale: float = Field(0.20, ge=0, le=1, json_schema_extra=HOT,
                                  description="Penalty = min(max_penalty, confidence x this)")
    consensus_min_confidence: float = Field(0.6, ge=0, le=1, json_schema_extra=HOT)
    daily_call_quota: int = Field(1000, ge=0, json_schema_extra=HOT)
    daily_cost_limit_usd: float = Field(50.0, ge=0, json_schema_extra=HOT)
    warn_fraction: float = Field(0.8, gt=0, le=1, description="Warn at this share of a limit")
    timeout_s: float = Field(
        30.0, gt=0, description="Wall-clock deadline per analysis, retries and backoff included")
    connect_timeout_s: float = Field(5.0, gt=0, description="Per HTTP attempt")
    read_timeout_s: float = Field(25.0, gt=0, description="Per HTTP attempt")
    max_attempts: int = Field(
        3, ge=1, le=10,
        description="HTTP attempts per analysis, retries included; each one is governed")
    retry_backoff_s: float = Field(
        1.0, ge=0, le=20, description="Wait before the first retry; doubles on each retry")
    max_queue_age_seconds: float = Field(
        60.0, gt=0, json_schema_extra=HOT,
        description="A queued request older than this when the worker takes it is discarded")
    max_output_tokens: int = Field(600, ge=50, le=8000)
    temperature: float | None = Field(0.0, ge=0, le=1, description="Empty for models without")
    bias_ttl_minutes: float = Field(60.0, gt=0, json_schema_extra=HOT)
    reply_cache_minutes: float = Field(10.0, ge=0, description="Identical prompt reuses a reply")
    recent_trades_in_prompt: int = Field(5, ge=0, le=50)
    skill_scaled: bool = Field(
        False, json_schema_extra=HOT,
        description="Scale the nudge by the model's measured skill (calibration ledger; 0 "
        "until it shows skill over skill_min_calls scored calls)")
    skill_min_calls: int = Field(30, ge=5, le=10000, json_schema_extra=HOT)
    routes: list[LlmRoute] = Field(
        default_factory=list, max_length=MAX_ROUTES, json_schema_extra=HOT,
        description="Model per moment, first match wins (shared/config/llm_routes.py); "
        "empty: the default model for every call")
    prices: dict[str, ModelPrice] = Field(default_factory=default_model_prices)
    unknown_model_price: ModelPrice = Field(
        default_factory=lambda: _price(0.015, 0.075),
        description="Used for a Bedrock model missing from prices (errs on the dear side)",
    )

    @field_validator("routes")
    @classmethod
    def _unique_routes(cls, routes: list[LlmRoute]) -> list[LlmRoute]:
        problem = duplicate_route_problem(routes)
        if problem:
            raise ValueError(problem)
        return routes


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


class MemoryConfig(Section):
    """Memory of past setups: refuse or scale an entry by how similar past setups ended.

    Env overrides: MIN_SIMILAR_TRADES, MIN_WEIGHTED_WIN_RATE. Distances are in units of the
    typical distance between stored setups (robust-scaled features). The verdict rests on the
    expected R per trade of similar setups (``min_expected_r``); setting
    ``min_weighted_win_rate`` brings back the older win-rate test instead.
    """

    enabled: bool = Field(False, description="Consult and build the memory at entry decisions")
    min_similar_trades: int = Field(
        0, ge=0, le=10_000, json_schema_extra=HOT,
        description="Hold unless the effective count of similar closed setups reaches this, "
        "whatever memory's size (cold start included); 0 = no count floor",
    )
    min_expected_r: float = Field(
        -0.2, ge=-5, le=5, json_schema_extra=HOT,
        description="Refuse when the lower confidence bound of similar setups' weighted mean R "
        "(expected P&L per trade in units of the initial risk) is below this",
    )
    expected_r_z: float = Field(
        1.0, ge=0, le=5, json_schema_extra=HOT,
        description="The bound is mean R - z x spread / sqrt(effective count): larger z demands "
        "more evidence before an entry is allowed",
    )
    min_weighted_win_rate: float | None = Field(
        None, ge=0, le=1, json_schema_extra=HOT,
        description="Legacy: when set, entries need at least this weighted win rate among "
        "similar setups instead of the expected-R test; empty = expected R",
    )
    max_adjustment: float = Field(
        0.10, ge=0, le=0.5, json_schema_extra=HOT,
        description="Largest confidence change memory may make, up or down",
    )
    cold_start: Literal["allow", "refuse"] = Field(
        "allow", json_schema_extra=HOT,
        description="While memory holds fewer than cold_start_setups closed setups: allow "
        "entries without the expected-R test (min_similar_trades still applies) or refuse them",
    )
    cold_start_setups: int = Field(
        100, ge=0, le=1_000_000, json_schema_extra=HOT,
        description="Cold start lasts while memory holds fewer closed setups than this (real "
        "and shadow); 0 = no cold start. A young memory knows too little to judge",
    )
    radius: float = Field(
        0.5, gt=0, le=10, json_schema_extra=HOT,
        description="Similar = within this many typical distances (DI-style)",
    )
    bandwidth: float = Field(
        0.25, gt=0, le=10, json_schema_extra=HOT,
        description="Kernel width h, in typical distances: weight exp(-d^2 / 2h^2)",
    )
    half_life_days: float = Field(
        30.0, gt=0, le=36_500, json_schema_extra=HOT,
        description="Recency: a setup's weight halves every this many days before the decision",
    )


class DashboardConfig(Section):
    """Read by the dashboard on every page run, so changes apply at once."""

    refresh_seconds: float = Field(5.0, ge=1, le=3600, json_schema_extra=HOT)
    chart_max_points: int = Field(2000, ge=100, json_schema_extra=HOT)


def _levels_field(channel: Channel) -> Any:
    return Field(
        default_factory=lambda: default_levels(channel), json_schema_extra=HOT,
        description=f"Level per event kind (off / silent / on); kinds left out keep their "
        f"default. Sent only when {channel.env_var} is set.",
    )


class AlertsConfig(Section):
    """What the alerter (``python -m bot alerts``) sends where, and how it paces delivery.

    Channel URLs with their tokens come from the environment only (ALERT_TELEGRAM_URL,
    ALERT_SLACK_URL, ALERT_EMAIL_URL; ALERT_TELEGRAM_COMMAND_CHATS for remote commands).
    """

    telegram: dict[AlertKind, AlertLevel] = _levels_field(Channel.TELEGRAM)
    slack: dict[AlertKind, AlertLevel] = _levels_field(Channel.SLACK)
    email: dict[AlertKind, AlertLevel] = _levels_field(Channel.EMAIL)
    low_confidence_below: float = Field(
        0.5, ge=0, le=1, json_schema_extra=HOT,
        description="An LLM answer below this confidence is an llm_low_confidence alert",
    )
    telegram_commands: bool = Field(
        False, description="Answer /status, /halt, /flatten ... from the chats in "
        "ALERT_TELEGRAM_COMMAND_CHATS",
    )
    telegram_api_url: str = Field(
        "https://api.telegram.org", description="Bot API server (a self-hosted one, or a test "
        "stand-in); no token here",
    )
    slack_webhook_url: str = Field(
        "https://hooks.slack.com/services", description="Where Slack webhook paths are posted",
    )
    per_minute: dict[Channel, int] = Field(
        default_factory=lambda: {Channel.TELEGRAM: 20, Channel.SLACK: 20, Channel.EMAIL: 6},
        json_schema_extra=HOT, description="Messages per minute per channel (Telegram: 20 "
        "per chat)",
    )
    max_attempts: int = Field(4, ge=1, le=20, description="Attempts per message, first included")
    retry_initial_s: float = Field(2.0, gt=0, description="Backoff before the first retry")
    retry_max_s: float = Field(60.0, gt=0, description="Backoff doubles up to this")
    send_timeout_s: float = Field(10.0, gt=0, le=120, description="Connect and read timeout")
    queue_size: int = Field(200, ge=1, le=100_000, description="Messages waiting per channel")
    max_age_minutes: float = Field(
        30.0, gt=0, json_schema_extra=HOT, description="Older undelivered alerts are dropped"
    )
    poll_seconds: float = Field(1.0, gt=0, le=60, description="How often the journal is read")
    # Watchdog (docs/alerts.md): bot_down / bot_recovered, llm_unavailable, pnl_swing.
    bot_program: str = Field("bot", min_length=1, description="The bot's supervisord program")
    bot_stale_bars: float = Field(
        6.0, gt=0, le=1000, json_schema_extra=HOT, description="A heartbeat older than this "
        "many bar lengths is bot_down (at least two heartbeat intervals)",
    )
    bot_stale_seconds: float = Field(
        0.0, ge=0, le=86_400, json_schema_extra=HOT, description="When above 0: the heartbeat "
        "age that is bot_down, in place of bot_stale_bars",
    )
    llm_outage_minutes: float = Field(
        15.0, gt=0, le=1440, json_schema_extra=HOT, description="LLM calls failing (timeout, "
        "throttled, error) with none answered for this long is llm_unavailable",
    )
    pnl_swing_usd: float = Field(
        0.0, ge=0, json_schema_extra=HOT, description="Equity moving this much within "
        "pnl_swing_minutes is pnl_swing; 0 = off",
    )
    pnl_swing_minutes: float = Field(
        15.0, gt=0, le=1440, json_schema_extra=HOT, description="The window of pnl_swing_usd",
    )

    @field_validator("telegram", "slack", "email", mode="before")
    @classmethod
    def _yaml_on_off(cls, value: Any) -> Any:
        # YAML 1.1 reads a bare on/off as a boolean: take it as the level the user typed.
        if isinstance(value, Mapping):
            return {k: ({True: "on", False: "off"}[v] if isinstance(v, bool) else v)
                    for k, v in value.items()}
        return value

    @field_validator("telegram", "slack", "email", mode="after")
    @classmethod
    def _complete(cls, value: dict[AlertKind, AlertLevel], info: ValidationInfo
                  ) -> dict[AlertKind, AlertLevel]:
        return {**default_levels(Channel(info.field_name)), **value}

    @field_validator("per_minute", mode="after")
    @classmethod
    def _rates(cls, value: dict[Channel, int]) -> dict[Channel, int]:
        for channel, rate in value.items():
            if rate < 1:
                raise ValueError(f"per_minute of {channel.value} must be at least 1")
        defaults = {Channel.TELEGRAM: 20, Channel.SLACK: 20, Channel.EMAIL: 6}
        return {**defaults, **value}

    @model_validator(mode="after")
    def _backoff_order(self) -> AlertsConfig:
        if self.retry_initial_s > self.retry_max_s:
            raise ValueError("retry_initial_s must not exceed retry_max_s")
        return self


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


class EngineConfig(Section):
    """The live loop's own timing and bookkeeping."""

    heartbeat_seconds: float = Field(5.0, gt=0, description="Wall-clock seconds between beats")
    commands_poll_seconds: float = Field(1.0, gt=0)
    bars_retention_days: int = Field(7, ge=1)
    shutdown_timeout_s: float = Field(10.0, gt=0)


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


class Settings(Section):
    """Everything the bot and dashboard are configured with."""

    instrument: InstrumentConfig = Field(default_factory=InstrumentConfig)
    broker: BrokerConfig = Field(default_factory=BrokerConfig)
    ib: IbConfig = Field(default_factory=IbConfig)
    feed: FeedConfig = Field(default_factory=FeedConfig)
    features: FeatureConfig = Field(default_factory=FeatureConfig)
    regime: RegimeConfig = Field(default_factory=RegimeConfig)
    strategies: StrategiesConfig = Field(default_factory=StrategiesConfig)
    risk: RiskConfig = Field(default_factory=RiskConfig)
    protections: ProtectionsConfig = Field(default_factory=ProtectionsConfig)
    llm: LlmConfig = Field(default_factory=LlmConfig)
    events: EventsConfig = Field(default_factory=EventsConfig)
    news: NewsConfig = Field(default_factory=NewsConfig)
    memory: MemoryConfig = Field(default_factory=MemoryConfig)
    dashboard: DashboardConfig = Field(default_factory=DashboardConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    backtest: BacktestConfig = Field(default_factory=BacktestConfig)
    engine: EngineConfig = Field(default_factory=EngineConfig)
    learning: LearningConfig = Field(default_factory=LearningConfig)
    finetune: FinetuneConfig = Field(default_factory=FinetuneConfig)
    maintenance: MaintenanceConfig = Field(default_factory=MaintenanceConfig)

    @model_validator(mode="after")
    def _gate_within_retention(self) -> Settings:
        problem = gate_retention_problem(self.learning.backtest_days,
                                         self.engine.bars_retention_days)
        if problem:
            raise ValueError(problem)
        return self


# env var -> (section, field)
ENV_OVERRIDES: dict[str, tuple[str, str]] = {
    "MIN_SIMILAR_TRADES": ("memory", "min_similar_trades"),
    "MIN_WEIGHTED_WIN_RATE": ("memory", "min_weighted_win_rate"),
    "CONFIDENCE_THRESHOLD": ("risk", "confidence_threshold"),
    "AWS_REGION": ("llm", "aws_region"),
    "AWS_BEDROCK_MODEL": ("llm", "bedrock_model"),
}


def describe_validation_error(error: ValidationError) -> str:
    """Render pydantic errors as 'section.field: reason' lines a user can act on."""
    lines = []
    for item in error.errors():
        location = ".".join(str(part) for part in item["loc"]) or "(top level)"
        lines.append(f"{location}: {item['msg']}")
    return "; ".join(lines)


def settings_from_mapping(
    data: Mapping[str, Any] | None, env: Mapping[str, str] | None = None
) -> Settings:
    """Validate a (partial) config mapping, apply env overrides, and return Settings."""
    merged: dict[str, Any] = {key: value for key, value in (data or {}).items()}
    for var, (section, name) in ENV_OVERRIDES.items():
        value = (env or {}).get(var)
        if value is None or value == "":
            continue
        section_data = merged.get(section) or {}
        if not isinstance(section_data, Mapping):
            raise ConfigError(f"{section}: must be a mapping")
        merged[section] = {**section_data, name: value}
    try:
        return Settings.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc)) from None


def parse_config_text(
    text: str, env: Mapping[str, str] | None = None, source: str = "the config text"
) -> Settings:
    """Parse YAML text into Settings; raises ConfigError naming the field and the reason.

    Empty, whitespace-only or comment-only text is an error, not "all defaults": a truncated
    save must not silently put the default limits (contracts, LLM quota) back in force. An
    explicit ``{}`` still means all defaults.
    """
    if (too_big := oversize_problem(len(text), source)) is not None:
        raise ConfigFileError(too_big)
    if not text.strip():
        raise ConfigFileError(f"{source} is empty")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = " ".join(str(exc).split())  # PyYAML's message spans lines; ours is one
        raise ConfigError(f"not valid YAML: {where}") from None
    if data is None:
        raise ConfigFileError(f"{source} is empty (no settings; write {{}} for all defaults)")
    if not isinstance(data, Mapping):
        raise ConfigError("the config file must be a mapping of sections")
    data, notes = drop_retired(data)
    for note in notes:
        logger.warning("%s: %s", source, note)
    return settings_from_mapping(data, env)


def read_config_text(path: Path) -> str:
    """The config file's text; ConfigFileError when it is missing, unreadable or not UTF-8."""
    try:
        if (too_big := oversize_problem(Path(path).stat().st_size, f"config file {path}")):
            raise ConfigFileError(too_big)
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigFileError(f"config file {path} does not exist") from None
    except UnicodeDecodeError as exc:
        raise ConfigFileError(
            f"config file {path} is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at "
            f"offset {exc.start})"
        ) from None
    except OSError as exc:
        raise ConfigFileError(f"cannot read config file {path}: {exc}") from None


def load_settings(path: Path | None, env: Mapping[str, str] | None = None) -> Settings:
    """Load Settings from a YAML file (no path = defaults), with env overrides.

    A missing path means defaults; a file that exists but is empty is an error.
    """
    env = os.environ if env is None else env
    if path is None:
        return settings_from_mapping({}, env)
    return parse_config_text(read_config_text(path), env, source=f"config file {path}")


def settings_to_yaml(settings: Settings) -> str:
    """Serialise Settings as YAML (every field, for the default data/config.yaml)."""
    return yaml.safe_dump(settings.model_dump(mode="json"), sort_keys=False)


def hot_reloadable_fields() -> set[str]:
    """Return 'section.field' names a running bot applies without a restart."""
    names: set[str] = set()
    for section_name, section_field in Settings.model_fields.items():
        section_model = section_field.annotation
        for name, field in getattr(section_model, "model_fields", {}).items():
            extra = field.json_schema_extra
            if isinstance(extra, dict) and extra.get("hot_reload"):
                names.add(f"{section_name}.{name}")
    return names


def changed_fields(old: Settings, new: Settings) -> list[str]:
    """Return the 'section.field' names whose values differ between two configs."""
    changed = []
    for section_name in Settings.model_fields:
        old_section, new_section = getattr(old, section_name), getattr(new, section_name)
        if old_section == new_section:
            continue
        for name in type(old_section).model_fields:
            if getattr(old_section, name) != getattr(new_section, name):
                changed.append(f"{section_name}.{name}")
    return changed


def merge_hot_fields(running: Settings, wanted: Settings) -> Settings:
    """Return ``running`` with every hot-reloadable field taken from ``wanted``."""
    hot = hot_reloadable_fields()
    sections: dict[str, Any] = {}
    for section_name in Settings.model_fields:
        running_section = getattr(running, section_name)
        updates = {
            name: getattr(getattr(wanted, section_name), name)
            for name in type(running_section).model_fields
            if f"{section_name}.{name}" in hot
        }
        sections[section_name] = running_section.model_copy(update=updates)
    return Settings.model_validate(running.model_copy(update=sections).model_dump())

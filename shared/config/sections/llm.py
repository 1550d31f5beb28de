"""The ``llm`` section: provider, model routes, how the bias is applied, the governor, prices."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from shared.config.llm_gate import GATE_HELP, LlmGateMode
from shared.config.llm_roles import LlmRolesConfig
from shared.config.llm_routes import MAX_ROUTES, LlmRoute, duplicate_route_problem
from shared.config.sections.base import HOT, Section


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
    consensus_fail_mode: Literal["open", "closed"] = Field(
        "open", json_schema_extra=HOT,
        description="consensus with no bias in force: open trades on technicals, closed skips")
    gate: LlmGateMode = Field("off", json_schema_extra=HOT, description=GATE_HELP)
    gate_decisive_confidence: float = Field(
        0.85, ge=0, le=1, json_schema_extra=HOT,
        description="Gate: a signal at least this confident enters without asking")
    gate_refuse_confidence: float = Field(
        0.6, ge=0, le=1, json_schema_extra=HOT,
        description="Gate: an answer against the candidate this confident refuses it")
    gate_wait_bars: int = Field(
        2, ge=0, le=30, json_schema_extra=HOT,
        description="Gate: bars a candidate waits for its answer before the fail mode")
    gate_fail_mode: Literal["open", "closed"] = Field(
        "open", json_schema_extra=HOT,
        description="Gate without an answer: open trades on technicals, closed skips")
    gate_cooldown_minutes: float = Field(
        15.0, ge=0, le=1440, json_schema_extra=HOT,
        description="Gate: a side is asked again only after this; meanwhile its answer stands")
    gate_max_per_hour: int = Field(6, ge=0, le=120, json_schema_extra=HOT,
                                   description="Gate: questions per hour (engine time) at most")
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
    roles: LlmRolesConfig = Field(
        default_factory=LlmRolesConfig,
        description="Analyst roles pipeline (shared/config/llm_roles.py; docs/llm-roles.md)")
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

    @model_validator(mode="after")
    def _role_routes(self) -> LlmConfig:
        problem = self.roles.unknown_route({route.name for route in self.routes})
        if problem:
            raise ValueError(problem)
        return self

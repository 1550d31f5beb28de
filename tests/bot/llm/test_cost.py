"""Cost arithmetic against the config's price table, prompt-cache tokens included."""

from __future__ import annotations

import pytest

from bot.llm.cost import cost_usd, price_for, reserve_usd, split_profile
from bot.llm.types import Usage
from shared.config.settings import LlmConfig

CFG = LlmConfig()
HAIKU = "anthropic.claude-haiku-4-5-20251001-v1:0"


def cost(model: str, usage: Usage, provider: str = "bedrock") -> float:
    return cost_usd(usage, price_for(model, CFG, provider), model)


@pytest.mark.parametrize(("model", "expected"), [
    ("global." + HAIKU, 0.005),
    ("global.anthropic.claude-sonnet-4-6", 0.015),
    ("global.anthropic.claude-opus-4-6-v1", 0.025),
    ("anthropic.claude-opus-4-1-20250805-v1:0", 0.075),
    ("anthropic.claude-3-haiku-20240307-v1:0", 0.00125),
    ("anthropic.claude-3-sonnet-20240229-v1:0", 0.015),
])
def test_market_open_call_of_3000_in_400_out(model, expected):
    assert cost(model, Usage(3000, 400)) == pytest.approx(expected)


def test_geo_profile_costs_ten_percent_more_than_global():
    assert cost("us." + HAIKU, Usage(3000, 400)) == pytest.approx(0.0055)
    assert cost("eu.anthropic.claude-sonnet-4-6", Usage(3000, 400)) == pytest.approx(0.0165)


def test_cache_writes_cost_125_percent_and_reads_10_percent_of_input():
    usage = Usage(input_tokens=1000, output_tokens=100, cache_read_tokens=8192,
                  cache_write_tokens=4096)
    expected = (1000 * 0.001 + 4096 * 1.25 * 0.001 + 8192 * 0.1 * 0.001 + 100 * 0.005) / 1000
    assert cost("global." + HAIKU, usage) == pytest.approx(expected)
    assert expected == pytest.approx(0.0074392)


def test_cache_multipliers_come_from_the_config():
    cfg = LlmConfig.model_validate({"prices": {"m": {
        "input_per_1k_usd": 0.01, "output_per_1k_usd": 0.0, "cache_write_multiplier": 2.0,
        "cache_read_multiplier": 0.5}}})
    price = price_for("m", cfg, "bedrock")
    assert cost_usd(Usage(0, 0, 1000, 1000), price, "m") == pytest.approx(0.01 * 2.5)


def test_unknown_bedrock_model_is_priced_dear_and_a_local_model_free():
    assert cost("anthropic.claude-next", Usage(1000, 1000)) == pytest.approx(0.015 + 0.075)
    assert cost("llama3.1", Usage(1000, 1000), provider="openai_compatible") == 0.0


def test_reservation_bounds_a_realistic_call():
    prompt = "x" * 3000
    reserved = reserve_usd(prompt, 600, price_for("us." + HAIKU, CFG, "bedrock"), "us." + HAIKU)
    assert reserved >= cost("us." + HAIKU, Usage(3000, 600))


def test_split_profile():
    assert split_profile("us." + HAIKU) == ("us.", HAIKU)
    assert split_profile(HAIKU) == ("", HAIKU)

"""Dollar cost of a call from the config's price table, prompt-cache tokens included."""

from __future__ import annotations

from bot.llm.types import Usage
from shared.config.settings import LlmConfig, ModelPrice

GEO_PREFIXES = ("global.", "us.", "eu.", "jp.", "apac.", "au.", "us-gov.", "ca.")


def split_profile(model_id: str) -> tuple[str, str]:
    """Split an inference profile id into (geo prefix, base model id)."""
    for prefix in GEO_PREFIXES:
        if model_id.startswith(prefix):
            return prefix, model_id[len(prefix):]
    return "", model_id


def price_for(model_id: str, cfg: LlmConfig, provider: str) -> ModelPrice:
    """The price of ``model_id``; unknown Bedrock models get the dear fallback, local ones 0."""
    if model_id in cfg.prices:
        return cfg.prices[model_id]
    _, base = split_profile(model_id)
    if base in cfg.prices:
        return cfg.prices[base]
    if provider == "bedrock":
        return cfg.unknown_model_price
    return ModelPrice(input_per_1k_usd=0.0, output_per_1k_usd=0.0)


def cost_usd(usage: Usage, price: ModelPrice, model_id: str = "") -> float:
    """in·p_in + cache_write·1.25·p_in + cache_read·0.1·p_in + out·p_out (per 1K), geo markup."""
    prefix, _ = split_profile(model_id)
    markup = 1.0 + (price.regional_markup if prefix not in ("", "global.") else 0.0)
    p_in, p_out = price.input_per_1k_usd * markup, price.output_per_1k_usd * markup
    total = (
        usage.input_tokens * p_in
        + usage.cache_write_tokens * price.cache_write_multiplier * p_in
        + usage.cache_read_tokens * price.cache_read_multiplier * p_in
        + usage.output_tokens * p_out
    )
    return total / 1000.0


REQUEST_OVERHEAD_TOKENS = 1000  # tool definition wrapper, message framing


def reserve_usd(prompt_text: str, max_output_tokens: int, price: ModelPrice,
                model_id: str) -> float:
    """An upper bound of a call's cost: one token per prompt byte, every output token used."""
    prompt_tokens = len(prompt_text.encode()) + REQUEST_OVERHEAD_TOKENS
    worst = Usage(input_tokens=prompt_tokens, output_tokens=max_output_tokens)
    return cost_usd(worst, price, model_id)

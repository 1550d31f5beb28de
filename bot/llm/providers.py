"""Pick the configured provider; ``none`` (or a provider that cannot start) never calls out."""

from __future__ import annotations

import logging
from typing import Any

from bot.llm.types import CallStatus, Provider, ProviderResult, Usage
from shared.config.settings import LlmConfig

logger = logging.getLogger(__name__)


class NoProvider:
    """The ``none`` provider, or a stand-in for one that could not be built."""

    name = "none"

    def __init__(self, model: str = "", reason: str = "provider: none") -> None:
        self.model = model
        self.reason = reason

    def availability(self) -> tuple[bool, str]:
        """Never available."""
        return False, self.reason

    def complete_json(self, system: str, user: str, schema: dict[str, Any]) -> ProviderResult:
        """Refuse without calling anything."""
        return ProviderResult(CallStatus.ERROR, None, "", Usage(), 0.0, "", 0, self.reason)


def make_provider(cfg: LlmConfig) -> Provider:
    """Build the configured provider; failures give an unavailable stand-in, not an exception."""
    if cfg.provider == "none":
        return NoProvider()
    try:
        if cfg.provider == "bedrock":
            from bot.llm.bedrock import BedrockProvider  # boto3 loads only when configured

            return BedrockProvider(cfg)
        from bot.llm.openai_compat import OpenAICompatibleProvider

        return OpenAICompatibleProvider(cfg)
    except Exception as exc:  # a provider that cannot start must not stop trading
        logger.warning("LLM provider %s unavailable: %s", cfg.provider, exc)
        return NoProvider(cfg.bedrock_model, f"{cfg.provider} could not start: "
                          f"{type(exc).__name__}: {exc}")

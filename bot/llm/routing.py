"""Pick the model for one analysis by the regime's volatility and the trigger kind.

``choose_route`` is pure: the first ``llm.routes`` entry that matches, else the provider's
default model under the name ``default``. ``ProviderRouter`` builds one provider per model the
routes name (lazily, then kept) with the same settings but the routed model id, so each call
is priced and logged under the model that answered it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from bot.llm.types import Provider
from shared.config.llm_routes import DEFAULT_ROUTE
from shared.config.settings import LlmConfig

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RouteChoice:
    """The route that answers a trigger and its model id."""

    name: str
    model: str


CUSTOM_MODEL_MARKERS = (":custom-model/", ":provisioned-model/")


def is_custom_model(model: str) -> bool:
    """Whether ``model`` names a fine-tuned Bedrock model (or its provisioned throughput)."""
    return any(marker in model for marker in CUSTOM_MODEL_MARKERS)


def default_model(cfg: LlmConfig) -> str:
    """The model the configured provider uses when no route matches."""
    return cfg.openai_model if cfg.provider == "openai_compatible" else cfg.bedrock_model


def choose_route(cfg: LlmConfig, volatility: str, trigger: str) -> RouteChoice:
    """The first matching route, else the default model."""
    for route in cfg.routes:
        if route.matches(volatility, trigger):
            return RouteChoice(route.name, route.model)
    return RouteChoice(DEFAULT_ROUTE, default_model(cfg))


def config_for_model(cfg: LlmConfig, model: str) -> LlmConfig:
    """``cfg`` with the provider's model id set to ``model``."""
    field = "openai_model" if cfg.provider == "openai_compatible" else "bedrock_model"
    return cfg.model_copy(update={field: model})


class ProviderRouter:
    """One provider per routed model, built on first use."""

    def __init__(self, factory: Callable[[LlmConfig], Provider]) -> None:
        self.factory = factory
        self._providers: dict[tuple[str, str, int], Provider] = {}

    def provider(self, cfg: LlmConfig, model: str) -> Provider:
        """The provider answering with ``model`` (built once per provider kind, model and
        output-token budget: an analyst role asks with its own budget)."""
        key = (cfg.provider, model, cfg.max_output_tokens)
        if key not in self._providers:
            self._providers[key] = self.factory(config_for_model(cfg, model))
        return self._providers[key]

    def route(self, cfg: LlmConfig, volatility: str, trigger: str,
              approved: Callable[[str], bool] | None = None) -> tuple[RouteChoice, Provider]:
        """The route for this moment and the provider that answers it. A fine-tuned model
        that ``approved`` does not vouch for (its held-out evaluation has not passed) never
        answers: the default model does, and the refusal is logged."""
        choice = choose_route(cfg, volatility, trigger)
        if is_custom_model(choice.model) and (approved is None or not approved(choice.model)):
            logger.warning("route %s: %s is a fine-tuned model without a passed evaluation "
                           "(python -m bot finetune evaluate); the default model answers",
                           choice.name, choice.model)
            choice = RouteChoice(DEFAULT_ROUTE, default_model(cfg))
        return choice, self.provider(cfg, choice.model)

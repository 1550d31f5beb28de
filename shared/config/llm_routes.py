"""Model routing for the LLM (``llm.routes``): which model answers which moment.

A route names a model and the moments it answers: volatility labels of the regime at the
trigger (``low``/``normal``/``high``) and trigger kinds (``market_open``, ``news``...). An empty
list matches every value. Routes are tried in order and the first match wins; a trigger no
route matches goes to the provider's default model (``bedrock_model`` or ``openai_model``), so
an empty ``routes`` list is today's single model. Each route's calls are priced from
``llm.prices`` by its own model id and logged with the route's name.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import ConfigDict, Field, field_validator

from shared.config.bounds import BoundedModel

VolatilityName = Literal["low", "normal", "high"]
TriggerName = Literal[
    "market_open", "market_close", "volatility_spike", "news", "manual", "review", "candidate"]
DEFAULT_ROUTE = "default"
MAX_ROUTES = 10
_ROUTE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


class LlmRoute(BoundedModel):
    """One route: the model for the moments it lists."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="Shown per call and on the LLM page (a-z, 0-9, _ and -)")
    model: str = Field(min_length=1, max_length=200,
                       description="Model id or inference profile for these moments")
    volatility: list[VolatilityName] = Field(
        default_factory=list, max_length=3, description="Empty: any volatility")
    triggers: list[TriggerName] = Field(
        default_factory=list, max_length=7, description="Empty: any trigger kind")

    @field_validator("name")
    @classmethod
    def _name(cls, name: str) -> str:
        if not _ROUTE_NAME.match(name) or name == DEFAULT_ROUTE:
            raise ValueError(f"route name {name[:50]!r}: use 1-40 of a-z, 0-9, _ and - "
                             f"(not {DEFAULT_ROUTE!r}, the name of the fallback)")
        return name

    @field_validator("model")
    @classmethod
    def _model(cls, model: str) -> str:
        if model != model.strip() or any(ch.isspace() for ch in model):
            raise ValueError(f"model {model[:50]!r} contains spaces")
        return model

    def matches(self, volatility: str, trigger: str) -> bool:
        """Whether this route answers a trigger of kind ``trigger`` in ``volatility``."""
        return ((not self.volatility or volatility in self.volatility)
                and (not self.triggers or trigger in self.triggers))


def duplicate_route_problem(routes: list[LlmRoute]) -> str | None:
    """A repeated route name, or None."""
    seen: set[str] = set()
    for route in routes:
        if route.name in seen:
            return f"route name {route.name!r} appears twice"
        seen.add(route.name)
    return None

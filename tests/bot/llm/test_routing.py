"""Model routing (``llm.routes``): the first matching route picks the model, else the default."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bot.llm.routing import ProviderRouter, choose_route, config_for_model, default_model
from shared.config.settings import LlmConfig, Settings

pytestmark = pytest.mark.unit

HAIKU = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
SONNET = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"


def routed(**llm) -> LlmConfig:
    return Settings.model_validate({"llm": {"routes": [
        {"name": "open", "model": SONNET, "triggers": ["market_open"]},
        {"name": "busy", "model": SONNET, "volatility": ["high"]},
        {"name": "calm", "model": HAIKU, "volatility": ["low", "normal"]},
    ], **llm}}).llm


@pytest.mark.parametrize(("volatility", "trigger", "route", "model"), [
    ("low", "market_open", "open", SONNET),  # the first match wins over "calm"
    ("high", "news", "busy", SONNET),
    ("normal", "volatility_spike", "calm", HAIKU),
    ("low", "manual", "calm", HAIKU),
    ("", "news", "default", "us.anthropic.claude-haiku-4-5-20251001-v1:0"),  # warming up
])
def test_first_matching_route_picks_the_model(volatility, trigger, route, model):
    choice = choose_route(routed(), volatility, trigger)
    assert (choice.name, choice.model) == (route, model)


def test_no_routes_is_the_default_model_of_the_provider():
    bedrock = LlmConfig(bedrock_model="b-model", openai_model="o-model")
    local = LlmConfig(provider="openai_compatible", bedrock_model="b-model",
                      openai_model="o-model")
    assert choose_route(bedrock, "high", "news").model == "b-model"
    assert choose_route(local, "high", "news").model == "o-model"
    assert default_model(local) == "o-model"
    assert config_for_model(local, "x").openai_model == "x"
    assert config_for_model(bedrock, "x").bedrock_model == "x"


def test_router_builds_one_provider_per_model_with_that_model():
    built: list[str] = []

    class Named:
        name = "fake"

        def __init__(self, cfg: LlmConfig) -> None:
            self.model = cfg.bedrock_model
            built.append(self.model)

    router = ProviderRouter(Named)
    cfg = routed()
    for volatility in ("low", "high", "normal", "high", "low"):
        choice, provider = router.route(cfg, volatility, "news")
        assert provider.model == choice.model
    assert sorted(built) == sorted({HAIKU, SONNET})


@pytest.mark.parametrize(("routes", "problem"), [
    ([{"name": "a", "model": "m"}, {"name": "a", "model": "n"}], "appears twice"),
    ([{"name": "default", "model": "m"}], "name of the fallback"),
    ([{"name": "Calm Days", "model": "m"}], "use 1-40"),
    ([{"name": "a", "model": "has space"}], "contains spaces"),
    ([{"name": "a", "model": ""}], "at least 1 character"),
    ([{"name": "a", "model": "m", "volatility": ["extreme"]}], "volatility"),
    ([{"name": "a", "model": "m", "triggers": ["lunch"]}], "triggers"),
    ([{"name": f"r{i}", "model": "m"} for i in range(11)], "at most 10"),
])
def test_bad_routes_are_refused_naming_what_is_wrong(routes, problem):
    with pytest.raises(ValidationError, match=problem):
        Settings.model_validate({"llm": {"routes": routes}})

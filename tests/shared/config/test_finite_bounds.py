"""Every number of the config and of the run requests is finite and bounded (issue 19 item 3).

The walk below finds the numeric fields by their types, so a field added later is checked
without a line here: ``.inf``, ``-.inf``, ``nan`` and ``1e308`` are refused with the field's
dotted name, and every default is inside its own bound.
"""

from __future__ import annotations

import json
import math
import types
import typing
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel

from bot.backtest.runner import run_backtest
from dashboard.config_editor import validate_yaml_text
from shared.config.backtest_request import BacktestRequest
from shared.config.bounds import (
    DEFAULT_MAX_MAGNITUDE,
    BoundedModel,
    has_own_upper_bound,
    magnitude_bound,
)
from shared.config.research_request import ResearchRequest
from shared.config.settings import (
    Settings,
    parse_config_text,
    settings_from_mapping,
    settings_to_yaml,
)
from shared.config.size_cap import MAX_CONFIG_BYTES
from shared.domain.errors import ConfigError, ConfigFileError

pytestmark = pytest.mark.unit

BAD_NUMBERS = {"inf": float("inf"), "-inf": float("-inf"), "nan": float("nan"), "1e308": 1e308}


def _unwrap(annotation: Any) -> list[Any]:
    """The member types of an optional/union annotation (itself otherwise)."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [a for a in typing.get_args(annotation) if a is not type(None)]
    return [annotation]


def numeric_paths(model: type[BaseModel], prefix: tuple[str, ...] = ()
                  ) -> Iterator[tuple[tuple[str, ...], type[BaseModel], str]]:
    """(path, owning model, field name) of every number, in nested models and dict values."""
    for name, field in model.model_fields.items():
        for member in _unwrap(field.annotation):
            path = (*prefix, name)
            if isinstance(member, type) and issubclass(member, BaseModel):
                yield from numeric_paths(member, path)
            elif member in (int, float):
                yield path, model, name
            elif typing.get_origin(member) is dict:
                value_type = typing.get_args(member)[1]
                key = "breakout" if name == "weights" else "slack" if name == "per_minute" \
                    else "some.model"
                if isinstance(value_type, type) and issubclass(value_type, BaseModel):
                    yield from numeric_paths(value_type, (*path, key))
                elif value_type in (int, float):
                    yield (*path, key), model, name


def nested(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    data: Any = value
    for part in reversed(path):
        data = {part: data}
    return data


SETTINGS_PATHS = sorted({path for path, _, _ in numeric_paths(Settings)})


def test_the_walk_finds_the_numbers_the_issue_names():
    names = {".".join(p) for p in SETTINGS_PATHS}
    assert {"risk.daily_loss_limit_usd", "risk.risk_per_trade_usd", "risk.disaster_stop_usd",
            "risk.max_hold_minutes", "strategies.weights.breakout", "alerts.per_minute.slack",
            "llm.prices.some.model.input_per_1k_usd"} <= names
    assert len(names) > 120


@pytest.mark.parametrize("bad", list(BAD_NUMBERS), ids=list(BAD_NUMBERS))
@pytest.mark.parametrize("path", SETTINGS_PATHS, ids=[".".join(p) for p in SETTINGS_PATHS])
def test_every_config_number_refuses_infinity_nan_and_1e308(path, bad):
    field = ".".join(path)
    with pytest.raises(ConfigError) as refused:
        settings_from_mapping(nested(path, BAD_NUMBERS[bad]), env={})
    message = str(refused.value)
    assert field in message or all(part in message for part in path), message


@pytest.mark.parametrize("model", [BacktestRequest, ResearchRequest])
def test_every_run_request_number_refuses_infinity_nan_and_1e308(model):
    base = {"kind": "sweep", "grid": {"risk.max_contracts": ["1", "2"]}} \
        if model is ResearchRequest else {}
    paths = [p for p, _, _ in numeric_paths(model) if p[0] != "grid"]
    assert len(paths) >= 7
    for path in paths:
        for bad in BAD_NUMBERS.values():
            with pytest.raises(ConfigError) as refused:
                model.from_json(_with(model(**base), path, bad))
            assert ".".join(path) in str(refused.value)


def _with(request: BaseModel, path: tuple[str, ...], value: Any) -> str:
    """The stored JSON of ``request`` with ``path`` set to ``value`` (a tampered row)."""
    data = request.model_dump(mode="json")
    target = data
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return json.dumps(data)  # inf/nan as the Infinity/NaN literals json writes


def test_every_model_of_the_config_and_requests_is_bounded():
    models = {m for _, m, _ in numeric_paths(Settings)}
    models |= {m for _, m, _ in numeric_paths(ResearchRequest)}
    assert BacktestRequest in models and ResearchRequest in models
    assert [m.__name__ for m in models if not issubclass(m, BoundedModel)] == []


def test_every_default_is_inside_its_bound_and_the_dumped_defaults_load():
    defaults = Settings()
    for path, model, name in numeric_paths(Settings):
        if "some.model" in path or path[-1] in ("breakout", "slack"):
            continue
        value: Any = defaults
        for part in path:
            value = getattr(value, part)
        if value is not None and not has_own_upper_bound(model, name):
            assert abs(value) <= magnitude_bound(name)[0], ".".join(path)
    assert parse_config_text(settings_to_yaml(defaults), env={}) == defaults


@pytest.mark.parametrize("text", [
    "risk: {daily_loss_limit_usd: .inf}", "risk: {risk_per_trade_usd: nan}",
    "risk: {disaster_stop_usd: .NaN}", "risk: {max_hold_minutes: 1e308}",
    "risk: {max_hold_minutes: 1.0e+308}",
])
def test_yaml_spellings_of_bad_numbers_are_refused_naming_the_field(text):
    field = "risk." + text.split("{")[1].split(":")[0]
    with pytest.raises(ConfigError, match=field):
        parse_config_text(text, env={})
    settings, errors = validate_yaml_text(text)  # the Config page's validation
    assert settings is None and [e.location for e in errors] == [field]


def test_unit_bounds_follow_the_field_names():
    assert magnitude_bound("max_hold_minutes")[0] == 36_500 * 24 * 60
    assert magnitude_bound("bars_retention_days")[0] == 36_500
    assert magnitude_bound("timeout_s")[0] == magnitude_bound("heartbeat_seconds")[0]
    assert magnitude_bound("min_volume_zscore")[0] == DEFAULT_MAX_MAGNITUDE
    with pytest.raises(ConfigError, match="at most 36,500"):
        settings_from_mapping({"engine": {"bars_retention_days": 36_501}}, env={})
    assert settings_from_mapping({"engine": {"bars_retention_days": 36_500}}, env={})


def test_an_indicator_period_longer_than_the_window_is_refused():
    """macd_slow = 1e9 passed, then overflowed the backtest's seed-weight check."""
    with pytest.raises(ConfigError, match=r"macd_slow \(1000000000\) longer than window_bars"):
        settings_from_mapping({"features": {"macd_slow": 1_000_000_000}}, env={})
    assert settings_from_mapping({"features": {"sma_slow": 500}}, env={})


def test_a_config_text_over_the_cap_is_refused_unparsed(tmp_path):
    text = "# padding\n" * (MAX_CONFIG_BYTES // 10 + 1)
    with pytest.raises(ConfigFileError, match="more than the 1,000,000 a config may have"):
        parse_config_text(text, env={})
    path = tmp_path / "huge.yaml"
    path.write_text("risk: {max_contracts: 1}\n" + text)
    from shared.config.settings import load_settings

    with pytest.raises(ConfigFileError, match=f"config file {path} is 1,000,"):
        load_settings(path, env={})
    settings, errors = validate_yaml_text(text)
    assert settings is None and "more than the 1,000,000" in errors[0].message


DECISION_AT_BOUND = [(path, model, name) for path, model, name in numeric_paths(Settings)
                 if path[0] in ("risk", "regime", "memory", "backtest", "instrument", "features",
                                "strategies", "llm", "broker") and "some.model" not in path]


def _largest(model: type[BaseModel], name: str) -> float:
    field = model.model_fields[name]
    for meta in field.metadata:
        if hasattr(meta, "le"):
            return meta.le
    return magnitude_bound(name)[0]


@pytest.mark.parametrize(("path", "model", "name"), DECISION_AT_BOUND,
                         ids=[".".join(p) for p, _, _ in DECISION_AT_BOUND])
def test_the_engine_runs_with_each_decision_number_at_its_largest_allowed_value(path, model, name):
    """The largest value a field accepts must not crash the decision path (it did with 1e308)."""
    value = _largest(model, name)
    if model.model_fields[name].annotation in (int, int | None):
        value = int(value)
    key = ".".join(path)
    try:
        request = BacktestRequest(bars=1500, params={key: str(value)})
    except ValueError as exc:  # a cross-field rule refuses it (e.g. ruin above the start)
        pytest.skip(f"{key}={value} refused by a cross-field rule: {exc}")
    try:
        result = run_backtest(request)
    except ConfigError as exc:
        pytest.skip(f"{key}={value} refused by a cross-field rule: {exc}")
    # No exception, finite money (an indicator period longer than the data only means no
    # decision is evaluated).
    assert math.isfinite(result.metrics["net_pnl_cents"]) and result.bars == 1500

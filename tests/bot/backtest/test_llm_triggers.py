"""Where a backtest asks the LLM, what it may cost, and the ``--llm`` flags."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from bot.backtest import cli
from bot.backtest.engine_run import session_clock
from bot.backtest.llm_triggers import (
    attempts_allowed,
    detect_triggers,
    estimate_spend,
    per_call_usd,
)
from bot.backtest.vector_features import feature_matrix, features_at
from bot.core.llm_reply import reply_json_schema
from bot.llm.context import SYSTEM_PROMPT
from bot.llm.cost import price_for, reserve_usd
from bot.llm.detector import EventDetector
from shared.config.settings import LlmConfig, settings_from_mapping
from shared.domain.errors import ConfigError
from tests.bot.backtest.conftest import bar_data, minute_bars


def test_time_triggers_fire_once_a_session_at_the_configured_offsets():
    data = bar_data(minute_bars(3 * 1440))  # Monday 2025-03-03 00:00 UTC, three days
    settings = settings_from_mapping({"feed": {"bar_seconds": 60}, "events": {
        "triggers": ["market_open", "market_close"], "market_open_offset_minutes": 5,
        "market_close_offset_minutes": 10}}, env={})
    found = detect_triggers(data, settings)
    fired = [(t.kind.value, t.ts) for index in sorted(found) for t in found[index]]
    expected = []
    for day in (3, 4, 5):  # RTH 14:30-21:00 UTC in early March (New York on EST)
        expected += [("market_open", datetime(2025, 3, day, 14, 35, tzinfo=UTC)),
                     ("market_close", datetime(2025, 3, day, 20, 50, tzinfo=UTC))]
    assert fired == expected
    for index, triggers in found.items():  # each at the decision (the close) of its bar
        assert all((t.ts - data.ts(index)).total_seconds() == 60 for t in triggers)


def test_the_volatility_trigger_keeps_its_cooldown():
    data = bar_data(minute_bars(3000, seed=3))
    settings = settings_from_mapping({"feed": {"bar_seconds": 60}, "events": {
        "triggers": ["volatility_spike"], "volatility_spike_atr_ratio": 1.2,
        "cooldown_minutes": 45}}, env={})
    times = sorted(t.ts for ts in detect_triggers(data, settings).values() for t in ts)
    assert len(times) >= 3
    gaps = [(b - a).total_seconds() for a, b in zip(times[:-1], times[1:], strict=True)]
    assert min(gaps) >= 45 * 60


def test_the_estimate_is_calls_at_most_times_the_worst_case_of_one():
    cfg = LlmConfig(max_attempts=3)
    estimate = estimate_spend(cfg, triggers=10, cap=4)
    assert (estimate.calls, estimate.cap) == (4, 4)
    assert estimate.total_usd == pytest.approx(4 * estimate.per_call_usd) and \
        estimate.per_call_usd > 0
    assert estimate_spend(cfg, triggers=1, cap=50).calls == 3  # one trigger, three attempts
    price = price_for(cfg.bedrock_model, cfg, "bedrock")
    smallest = reserve_usd(SYSTEM_PROMPT + json.dumps(reply_json_schema()),
                           cfg.max_output_tokens, price, cfg.bedrock_model)
    assert per_call_usd(cfg) > smallest  # the user message is budgeted on top
    local = LlmConfig(provider="openai_compatible")
    assert estimate_spend(local, triggers=10, cap=4).total_usd == 0.0
    line = estimate.line()
    assert "at most 4 HTTP call(s)" in line and f"${estimate.total_usd:.4f}" in line


@pytest.mark.parametrize(("calls_left", "budget", "each", "allowed"), [
    (10, 1.0, 0.1, 3), (2, 1.0, 0.1, 2), (10, 0.25, 0.1, 2), (10, 0.05, 0.1, 0),
    (0, 1.0, 0.1, 0), (10, 0.0, 0.0, 3),
])
def test_attempts_stay_within_the_cap_and_the_budget(calls_left, budget, each, allowed):
    assert attempts_allowed(LlmConfig(max_attempts=3), calls_left, budget, each) == allowed


def parse(*flags: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    return parser.parse_args(list(flags))


def test_the_llm_flags_fill_the_request():
    request = cli.request_from_args(parse(
        "--llm", "record", "--llm-mode", "consensus", "--llm-journal", "j.db",
        "--llm-max-calls", "7", "--llm-latency-s", "1.5", "--yes-spend"))
    assert (request.llm, request.llm_mode, request.llm_journal, request.llm_max_calls,
            request.llm_latency_s, request.llm_yes_spend) == (
        "record", "consensus", "j.db", 7, 1.5, True)
    default = cli.request_from_args(parse())
    assert (default.llm, default.llm_mode, default.llm_yes_spend) == ("off", None, False)


def test_bad_llm_flags_are_named():
    with pytest.raises(ConfigError, match="--llm-max-calls: Input should be greater"):
        cli.request_from_args(parse("--llm-max-calls", "-1"))
    with pytest.raises(ConfigError, match="sma_cross has no LLM step"):
        cli.request_from_args(parse("--llm", "replay", "--strategy", "sma_cross"))
    with pytest.raises(SystemExit):
        parse("--llm", "always")


def test_the_candidate_filter_misses_no_trigger_of_the_bar_by_bar_detector():
    data = bar_data(minute_bars(3 * 1440, seed=3))
    settings = settings_from_mapping({"feed": {"bar_seconds": 60}, "events": {
        "triggers": ["market_open", "market_close", "volatility_spike"],
        "market_open_offset_minutes": 7.5, "market_close_offset_minutes": 12.5,
        "volatility_spike_atr_ratio": 1.2, "cooldown_minutes": 20}}, env={})
    detector = EventDetector(settings.events, session_clock(), timedelta(seconds=60))
    matrix = feature_matrix(data.open, data.high, data.low, data.close, data.volume,
                            settings.features)
    every_bar = {}
    for index in range(len(data)):
        start = data.ts(index)
        fired = detector.on_bar(start + timedelta(seconds=60), features_at(
            matrix, index, start, data.high, data.low, data.close, settings.features, False))
        for trigger in fired:
            detector.mark_fired(trigger)
        if fired:
            every_bar[index] = tuple(fired)
    kinds = {t.kind.value for triggers in every_bar.values() for t in triggers}
    assert kinds == {"market_open", "market_close", "volatility_spike"}
    assert detect_triggers(data, settings) == every_bar


def test_rth_flags_agree_with_is_rth_around_the_week_a_holiday_and_a_half_day():
    clock = session_clock()
    start = datetime(2025, 6, 29, tzinfo=UTC)  # a Sunday; July 3 closes early, July 4 is shut
    stamps = [start + timedelta(minutes=7 * i, seconds=i % 2) for i in range(8 * 24 * 60 // 7)]
    flags = clock.rth_flags(np.array([s.timestamp() for s in stamps]))
    assert flags.tolist() == [clock.is_rth(s) for s in stamps] and flags.any()
    assert not clock.rth_flags(np.array([0.0, 4e10])).any()  # outside the calendar

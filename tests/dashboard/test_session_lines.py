"""The session levels on the price chart: read from the newest decision, drawn as lines."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from dashboard import charts, session_lines

pytestmark = pytest.mark.unit


def _decision(**features: object) -> dict:
    return {"features_json": json.dumps({"close": 5712.25, **features})}


def test_the_newest_decisions_known_levels_are_read_with_their_chart_labels() -> None:
    newest = _decision(session_vwap=5705.5, opening_range_high=5719.25,
                       opening_range_low=None, overnight_low=5690.0)
    older = _decision(session_vwap=1.0)
    assert session_lines.latest_levels([newest, older]) == {
        "VWAP": 5705.5, "OR high": 5719.25, "ON low": 5690.0}
    assert session_lines.latest_levels([]) == {}
    assert session_lines.latest_levels([{"features_json": "not json"}]) == {}
    assert session_lines.latest_levels([_decision()]) == {}  # before any level is known


def test_the_price_chart_draws_each_level_across_the_window() -> None:
    index = pd.date_range("2025-03-03 15:00", periods=30, freq="1min", tz="UTC")
    bars = pd.DataFrame({"open": 5700.0, "high": 5702.0, "low": 5698.0, "close": 5701.0,
                         "volume": 10.0}, index=index)
    trades = pd.DataFrame()
    levels = {"VWAP": 5705.5, "Prior close": 5690.25}
    figure = charts.price_chart(bars, trades, 500, "MES", zone="America/Chicago",
                                levels=levels)
    drawn = {trace.name: trace for trace in figure.data if trace.name.split()[0] in
             ("VWAP", "Prior")}
    assert set(drawn) == {"VWAP 5,705.50", "Prior close 5,690.25"}
    vwap = drawn["VWAP 5,705.50"]
    assert list(vwap.y) == [5705.5, 5705.5] and vwap.text[-1] == " VWAP"
    assert pd.Timestamp(vwap.x[0]) == pd.Timestamp("2025-03-03 09:00")  # Chicago wall clock
    without = charts.price_chart(bars, trades, 500, "MES")
    assert len(figure.data) == len(without.data) + 2

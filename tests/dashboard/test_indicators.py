"""The indicator panels' frame: the journaled RSI/MACD resampled with the candles, and the
regime's not-tradable stretches; drawn under the candles on the Overview chart."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from dashboard import charts, indicators

pytestmark = pytest.mark.unit


def raw(tradable: list[float]) -> pd.DataFrame:
    index = pd.date_range("2025-03-03 14:30", periods=len(tradable), freq="1min", tz="UTC")
    n = len(tradable)
    return pd.DataFrame({"rsi": [40.0 + i for i in range(n)],
                         "macd": [0.1 * i for i in range(n)],
                         "macd_signal": [0.05 * i for i in range(n)],
                         "macd_hist": [0.05 * i - 0.2 for i in range(n)],
                         "tradable": tradable}, index=index)


def test_resampling_keeps_the_last_value_and_blocks_a_step_any_decision_blocked():
    frame = indicators.indicator_frame(raw([1, 1, 0, 1, 1, 1]), "2min")
    assert list(frame["rsi"]) == [41.0, 43.0, 45.0]
    assert list(frame["tradable"]) == [1.0, 0.0, 1.0]
    assert indicators.indicator_frame(raw([1, 0]), "raw")["rsi"].tolist() == [40.0, 41.0]


def test_not_tradable_runs_last_until_the_next_decision():
    frame = indicators.indicator_frame(raw([1, 0, 0, 1, math.nan, 0, 0]))
    times = list(frame.index)
    assert indicators.non_tradable_spans(frame) == [(times[1], times[3]), (times[5], times[6])]
    assert indicators.non_tradable_spans(indicators.indicator_frame(raw([1, 1]))) == []


def test_warming_up_features_are_no_panel():
    warming = raw([1, 1]).assign(rsi=math.nan, macd=math.nan)
    assert not indicators.has_values(indicators.indicator_frame(warming))
    assert indicators.has_values(indicators.indicator_frame(raw([1, 1])))
    assert indicators.indicator_frame(raw([]).iloc[:0]).empty


def bars(n: int) -> pd.DataFrame:
    index = pd.date_range("2025-03-03 14:30", periods=n, freq="1min", tz="UTC")
    close = pd.Series([5000 + (i % 7) for i in range(n)], index=index, dtype=float)
    return pd.DataFrame({"open": close, "high": close + 1, "low": close - 1, "close": close,
                         "volume": 10.0})


EMPTY_TRADES = pd.DataFrame(columns=["entry_ts", "side", "entry_price", "exit_ts",
                                     "exit_price", "exit_reason", "pnl_net_usd"])


def test_the_chart_stacks_rsi_and_macd_under_the_candles_with_the_shading():
    figure = charts.price_chart(bars(6), EMPTY_TRADES, 500, "MES", zone="America/Chicago",
                                indicators=raw([1, 0, 0, 1, 1, 1]))
    names = {trace.name: trace for trace in figure.data}
    assert names["RSI"].yaxis == "y3" and names["MACD"].yaxis == "y4"
    assert names["MACD histogram"].type == "bar" and charts.NOT_TRADABLE in names
    layout = figure.layout
    assert layout.yaxis.domain[0] > layout.yaxis3.domain[1] > layout.yaxis4.domain[1]
    assert layout.xaxis.anchor == "y4"  # the time axis under the lowest panel
    shaded = [s for s in layout.shapes if s.type == "rect"]
    assert len(shaded) == 1 and shaded[0].yref == "paper"
    # in the display zone's wall clock, like the candles: 14:31 UTC is 08:31 CST
    assert pd.Timestamp(shaded[0].x0) == pd.Timestamp("2025-03-03 08:31")
    assert pd.Timestamp(names["RSI"].x[0]) == pd.Timestamp("2025-03-03 08:30")


def test_the_sentiment_panel_stays_lowest_and_no_indicator_means_no_panel():
    sentiment = pd.DataFrame({"sentiment": [0.2, -0.1]}, index=bars(2).index)
    figure = charts.price_chart(bars(6), EMPTY_TRADES, 500, "MES", sentiment=sentiment,
                                indicators=raw([1, 1, 1, 1, 1, 1]))
    assert figure.layout.xaxis.anchor == "y2"
    assert figure.layout.yaxis4.domain[0] > figure.layout.yaxis2.domain[1]
    plain = charts.price_chart(bars(6), EMPTY_TRADES, 500, "MES",
                               indicators=raw([1, 1]).assign(rsi=math.nan, macd=math.nan))
    assert {t.name for t in plain.data}.isdisjoint({"RSI", "MACD"})
    assert plain.layout.height == 520


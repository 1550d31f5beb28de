"""One money/cost formatter and one display zone for every page."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pandas as pd
import pytest

from dashboard import fmt, llm_reports, reports, zones
from shared.persistence.llm_store import LlmCallRow

pytestmark = pytest.mark.unit


def test_money_puts_the_sign_before_the_dollar():
    assert fmt.usd(-125_000) == "-$1,250.00" and fmt.usd(125_000) == "$1,250.00"
    assert fmt.usd_amount(-0.004) == "$0.00" and fmt.usd(None) == fmt.DASH
    assert fmt.signed_usd(1250) == "+$12.50" and fmt.signed_usd(-1250) == "-$12.50"


def _call(**values) -> LlmCallRow:
    """A settled call-log row; ``values`` set the fields a test is about."""
    at = datetime(2026, 1, 2, 15, 0, tzinfo=UTC)
    row = LlmCallRow(
        call_id=1, created_at=at, day="2026-01-02", trigger="manual", trigger_json="{}",
        command_id=None, provider="bedrock", model="m", template_version="v1",
        prompt_hash="h", system_prompt="s", prompt="p", response="", status="ok", error="",
        stop_reason="", input_tokens=0, output_tokens=0, cache_read_tokens=0,
        cache_write_tokens=0, reserved_usd=0.0, cost_usd=0.0, latency_ms=None,
        retry_attempts=0, bias=None, confidence=None, action=None, settled_at=at)
    return dataclasses.replace(row, **values)


def test_an_llm_cost_reads_the_same_everywhere():
    assert fmt.cost_usd(0.00275) == "$0.0028" == fmt.cost_usd(0.0028)
    summary = llm_reports.reply_summary(_call(
        call_id=1, status="ok", bias="BULLISH", confidence=0.72, action="BUY",
        cost_usd=0.00275, error="",
        response='{"rationale": "trend up", "risk_notes": "CPI at 8:30", '
                 '"key_factors": ["ema"]}'))
    assert "$0.0028" in summary.headline and "0.72" in summary.headline
    assert summary.rationale == "trend up" and summary.risk_notes == "CPI at 8:30"
    assert summary.key_factors == ("ema",)


def test_a_reply_that_is_not_json_has_no_rationale():
    summary = llm_reports.reply_summary(_call(call_id=2, status="parse_error", bias=None,
                                              confidence=None, action=None, cost_usd=0.001,
                                              error="bad", response="garbage"))
    assert not summary.ok and summary.rationale == "" and "bad" in summary.headline


def test_integer_ticks_for_call_counts():
    assert llm_reports.integer_tick_step(0) == 1 and llm_reports.integer_tick_step(3) == 1
    assert llm_reports.integer_tick_step(23) == 5


def test_session_hour_order_starts_at_the_globex_open():
    winter = datetime(2025, 1, 15, tzinfo=UTC)
    assert zones.session_hour_order(zones.EXCHANGE_ZONE, winter)[:3] == [17, 18, 19]
    assert zones.session_hour_order("UTC", winter)[0] == 23
    assert sorted(zones.session_hour_order("UTC", winter)) == list(range(24))


def test_pnl_by_hour_is_in_the_display_zone_and_session_order():
    table = pd.DataFrame({
        "entry_ts": pd.to_datetime(["2025-01-15T23:30:00Z", "2025-01-15T15:10:00Z"], utc=True),
        "pnl_net_usd": [10.0, -4.0],
    })
    chicago = reports.pnl_by_hour(table, zones.EXCHANGE_ZONE)
    assert list(chicago.index[:2]) == ["17:00", "18:00"]
    assert chicago["17:00"] == 10.0 and chicago["09:00"] == -4.0
    utc = reports.pnl_by_hour(table, "UTC")
    assert utc.index[0] == "23:00" and utc["23:00"] == 10.0 and utc["15:00"] == -4.0


def test_frames_and_times_convert_to_the_display_zone():
    frame = pd.DataFrame({"created_at": ["2025-01-15T15:00:00+00:00"]})
    shown = zones.in_zone(frame, zones.EXCHANGE_ZONE, ("created_at",))
    assert shown["created_at"].iloc[0].hour == 9
    assert zones.fmt_time(datetime(2025, 1, 15, 15, tzinfo=UTC), zones.EXCHANGE_ZONE) == (
        "2025-01-15 09:00:00 CST")


@pytest.mark.parametrize(("text", "zone", "expected"), [
    ("Test message from the MyTrader dashboard (2026-12-07 19:30:00 UTC)", "America/Chicago",
     "Test message from the MyTrader dashboard (2026-12-07 13:30:00 CST)"),
    ("flatten · 2025-07-03 15:00:00Z", "America/Chicago", "flatten · 2025-07-03 10:00:00 CDT"),
    ("at 2025-03-03T15:00:00 UTC.", "UTC", "at 2025-03-03 15:00:00 UTC."),
    ("day 2025-03-03 only, price 5000.25", "America/Chicago",
     "day 2025-03-03 only, price 5000.25"),
    ("", "UTC", ""),
])
def test_utc_times_inside_a_message_are_shown_in_the_display_zone(text, zone, expected):
    assert zones.text_in_zone(text, zone) == expected


def test_a_frames_message_columns_are_shown_in_the_display_zone():
    frame = pd.DataFrame({"headline": ["sent 2025-03-03 15:00:00 UTC", None], "n": [1, 2]})
    shown = zones.texts_in_zone(frame, "America/Chicago", ("headline", "missing"))
    assert shown["headline"][0] == "sent 2025-03-03 09:00:00 CST" and pd.isna(shown["headline"][1])
    assert frame["headline"][0].endswith("UTC"), "the input is left alone"


def test_a_breakdown_reads_as_text_for_a_trader():
    from dashboard.backtest_charts import breakdown_frame

    rows = [{"key": "0 Mon", "trades": 1200, "wins": 3, "win_rate": 0.47651,
             "net_pnl_cents": -212572, "average_trade_cents": -177.1, "profit_factor": None},
            {"key": "4 Fri", "trades": 2, "wins": 2, "win_rate": 1.0, "net_pnl_cents": 500,
             "average_trade_cents": 250.0, "profit_factor": float("inf")}]
    table = breakdown_frame(rows, "weekday")
    assert list(table.columns) == ["Weekday", "Trades", "Net P&L", "Avg trade", "Win rate",
                                   "Profit factor"]
    assert table.iloc[0].tolist() == ["Mon", "1,200", "-$2,125.72", "-$1.77", "47.7%", "n/a"]
    assert table.iloc[1].tolist() == ["Fri", "2", "$5.00", "$2.50", "100.0%", "∞"]
    assert "None" not in table.to_string()
    exits = breakdown_frame([{**rows[1], "key": "time_exit"}], "exit_reason")
    assert exits.columns[0] == "Exit reason" and exits.iloc[0, 0] == "time exit"
    stored = breakdown_frame([{**rows[1], "profit_factor": None}], "exit_reason")  # as JSON
    assert stored["Profit factor"].tolist() == ["∞"]


def test_trader_cards_hold_no_engine_speed_and_percent_has_one_decimal():
    from dashboard.backtest_charts import HEADLINE_METRICS, format_metric

    assert "bars_per_second" not in {key for key, _, _ in HEADLINE_METRICS}
    assert format_metric(0.47651, "pct") == "47.7%" and format_metric(None, "pct") == "n/a"


def test_the_equity_curve_steps_at_each_close():
    trades = pd.DataFrame({
        "entry_ts": pd.to_datetime(["2025-03-03 15:00", "2025-03-03 16:00"], utc=True),
        "exit_ts": pd.to_datetime(["2025-03-03 15:30", "2025-03-03 16:30"], utc=True),
        "pnl_net_usd": [10.0, -5.0]})
    from dashboard.charts import equity_chart

    figure = equity_chart(trades, 1000.0)
    assert {trace.line.shape for trace in figure.data} == {"hv"}
    assert list(figure.data[0].y) == [1000.0, 1010.0, 1005.0]


def test_a_backtest_with_many_trades_opens_on_the_last_ones():
    from datetime import timedelta

    from dashboard.backtest_charts import READABLE_TRADES, trades_figure
    from shared.domain.models import ExitReason, Side, TradeRecord

    start = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)
    times = [start + timedelta(minutes=i) for i in range(1000)]
    candles = {"ts": [t.isoformat() for t in times], "open": [5000.0 + i for i in range(1000)],
               "high": [5001.0 + i for i in range(1000)], "low": [4999.0 + i for i in range(1000)],
               "close": [5000.0 + i for i in range(1000)]}
    trades = [TradeRecord(f"B{i}", "MES", Side.LONG, 1, times[i * 8], 5000.0 + i * 8,
                          times[i * 8 + 3], 5003.0 + i * 8, ExitReason.TARGET, 1500, 124, 1376,
                          {}) for i in range(120)]
    figure = trades_figure(candles, trades, "UTC")
    first_shown = times[(120 - READABLE_TRADES) * 8].replace(tzinfo=None)
    assert pd.Timestamp(figure.layout.xaxis.range[0]) == pd.Timestamp(first_shown)
    low, high = figure.layout.yaxis.range
    assert low < 4999.0 + (120 - READABLE_TRADES) * 8 and high > 5001.0 + 999
    assert f"the last {READABLE_TRADES} of 120" in figure.layout.title.text
    few = trades_figure(candles, trades[:10], "UTC")
    assert few.layout.xaxis.range is None and "the last" not in few.layout.title.text


def test_tables_show_flags_as_ticks_and_no_none():
    from dashboard.tables import readable

    frame = pd.DataFrame({"configured": [True, False], "flag": pd.Series([True, None],
                                                                         dtype=object),
                          "risk_rule": pd.Series(["cooldown", None], dtype=object),
                          "pnl": [1.5, float("nan")]})
    shown = readable(frame)
    assert shown["configured"].tolist() == ["✓", "—"]
    assert shown["flag"].tolist() == ["✓", "—"]
    assert shown["risk_rule"].tolist() == ["cooldown", "—"]
    assert shown["pnl"].iloc[0] == 1.5 and pd.isna(shown["pnl"].iloc[1]), "numbers untouched"
    assert "None" not in shown.to_string()


def test_a_time_another_process_wrote_is_shown_in_the_chosen_zone_or_left_as_it_is():
    chicago = "America/Chicago"
    assert zones.fmt_iso("2026-12-07T23:03:41+00:00", chicago) == "2026-12-07 17:03:41 CST"
    assert zones.fmt_iso("not a <b>time</b>", "America/Chicago") == "not a <b>time</b>"
    assert zones.fmt_iso("2026-12-07T23:03:41", "America/Chicago") == "2026-12-07T23:03:41"


@pytest.mark.parametrize(("seconds", "shown"), [
    (0, "0 min"), (2_520, "42 min"), (3_599, "1 h"), (32_040, "8 h 54 min"),
    (118_430, "1 d 9 h"), (86_399, "1 d"), (40 * 86_400, "40 d"), (None, "–"),
    (float("nan"), "–"), (float("inf"), "–"), (-5, "–"),
])
def test_a_duration_fits_a_metric_card(seconds, shown):
    assert fmt.duration(seconds) == shown
    assert len(fmt.duration(seconds)) <= len("23 h 59 min")

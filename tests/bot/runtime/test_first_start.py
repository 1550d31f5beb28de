"""A first start of the paper bot on the default config: warm at once, trading within minutes.

The warm start (``open_bar_source`` with a fixed clock) and then the real live loop
(``LiveBot.warm_start`` and ``process_bar``, SQLite journal) played in bar time, for several
seeds and start times across the Globex day: the first decision comes on the first bar after
start (within a minute) and is not warming up; at least one order comes within 15 minutes of
bar time. ``benchmarks/bench_first_trade.py`` prints the distribution over many more starts.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache
from itertools import islice
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.adapters.feeds.globex_clock import history_start
from bot.adapters.feeds.synthetic import SyntheticMarket
from bot.backtest.engine_run import run_engine
from bot.core.sessions import CmeSessionClock
from bot.runtime import live
from bot.runtime.bar_source import open_bar_source, warm_start_bars
from shared.config.settings import Settings, settings_from_mapping
from shared.domain.models import Bar
from shared.persistence import codec, journal_store
from shared.persistence.db import connect
from tests.bot.backtest.conftest import bar_data
from tests.bot.runtime.first_start import play_first_start

CHICAGO = ZoneInfo("America/Chicago")
SEEDS = (1, 2, 3)
# Tuesday evening, the European morning, before the cash open, RTH midday and afternoon.
STARTS = ("2025-11-04 20:00:17", "2025-11-05 03:00:17", "2025-11-05 07:15:17",
          "2025-11-05 10:00:17", "2025-11-05 13:30:17")


def ct(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=CHICAGO).astimezone(UTC)


@cache
def shared_clock() -> CmeSessionClock:
    return CmeSessionClock()


@pytest.fixture(autouse=True)
def _one_session_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    # Building the CME calendar takes seconds; every bot here may share one (it is immutable).
    monkeypatch.setattr(live, "CmeSessionClock", shared_clock)


def source_bars(settings: Settings, now: datetime, live_count: int) -> tuple[list[Bar], list[Bar]]:
    source = open_bar_source(settings.feed, None, lambda: now, warm_start_bars(settings))
    return list(source.history), list(islice(source.bars, live_count))


def test_a_first_start_plays_history_up_to_now_then_the_same_market_onwards() -> None:
    settings = Settings()
    now = ct("2025-11-05 10:00:17")
    history, following = source_bars(settings, now, 50)
    assert len(history) == warm_start_bars(settings) == 360 * 60 // 5
    length = timedelta(seconds=5)
    assert history[-1].ts + length <= now < following[0].ts + length  # the bar in progress
    start = history_start(now, len(history), 5)
    market = list(islice(SyntheticMarket(settings.feed.seed, start, 5000.0, 5).iter_bars(),
                         len(history) + 50))
    assert history + following == market


def test_history_walks_back_over_the_weekend_and_covers_a_full_window() -> None:
    settings = settings_from_mapping({"feed": {"bar_seconds": 60, "warm_start_minutes": 60}},
                                     env={})
    now = ct("2025-11-09 17:20:00")  # twenty minutes into the Sunday evening session
    history, following = source_bars(settings, now, 1)
    assert len(history) == settings.features.window_bars == warm_start_bars(settings)
    assert history[-1].ts == ct("2025-11-09 17:19:00")
    assert history[-21].ts == ct("2025-11-07 15:59:00")  # Friday's last bar before the break
    assert following[0].ts == ct("2025-11-09 17:20:00")


@pytest.mark.parametrize("feed", [
    {"warm_start_minutes": 0},
    {"start": "2025-11-05T16:00:00Z"},  # an explicit start: a reproducible market, no history
])
def test_no_history_when_warm_starts_are_off_or_the_start_is_fixed(feed: dict) -> None:
    settings = settings_from_mapping({"feed": feed}, env={})
    source = open_bar_source(settings.feed, None, lambda: ct("2025-11-05 10:00"),
                             warm_start_bars(settings))
    assert source.history == ()


def test_a_restarted_bot_continues_without_new_history() -> None:
    settings = Settings()
    last = Bar(ct("2025-11-05 09:59:55"), 5000.0, 5000.25, 4999.75, 5000.0, 10.0)
    source = open_bar_source(settings.feed, last, lambda: ct("2025-11-05 10:00"),
                             warm_start_bars(settings))
    assert source.history == ()
    assert next(source.bars).ts == ct("2025-11-05 10:00:00")


@pytest.mark.parametrize("start", STARTS)
@pytest.mark.parametrize("seed", SEEDS)
def test_first_decision_within_a_minute_and_an_order_within_15_minutes(
    tmp_path: Path, seed: int, start: str
) -> None:
    settings = settings_from_mapping({"feed": {"seed": seed}}, env={})
    now = ct(start)
    run = play_first_start(settings, tmp_path / "trader.db", now, minutes=15)
    assert run.journaled_bars >= run.history_bars == warm_start_bars(settings)
    assert run.first_decision is not None
    assert run.first_decision - now <= timedelta(minutes=1)
    assert not run.first_decision_warming_up, run.reasons_of_first_decision
    assert run.first_order is not None, f"no order within 15 minutes ({run.decisions} decisions)"
    assert run.first_order - now <= timedelta(minutes=15)
    assert run.entries <= 3  # fifteen minutes, one position at a time: no over-trading


def test_the_backtester_decides_a_warm_start_as_the_live_loop(tmp_path: Path) -> None:
    # benchmarks/bench_first_trade.py sweeps first starts through the backtester; it must see
    # what the live loop sees: the history as warm-up, then the same decisions bar by bar.
    settings = settings_from_mapping({"feed": {"seed": 2}}, env={})
    now = ct("2025-11-05 03:00:17")
    run = play_first_start(settings, tmp_path / "trader.db", now, minutes=15)
    history, following = source_bars(settings, now, run.decisions)
    assert following[-1].ts < now + timedelta(minutes=15) <= following[-1].ts + timedelta(
        seconds=5)
    data = bar_data(history + following, bar_seconds=5, first=len(history))
    outcome = run_engine(settings, data, skip_idle_bars=False, keep_decisions=True)
    conn = connect(tmp_path / "trader.db", readonly=True)
    try:
        rows = list(reversed(journal_store.recent_decisions(conn, 1_000)))
    finally:
        conn.close()
    assert run.entries >= 1 and len(rows) == len(outcome.decisions) == 181
    for mine, row in zip(outcome.decisions, rows, strict=True):
        assert (codec.to_text(mine.ts), mine.verdict.value, mine.action_taken, mine.risk_rule) == (
            row["ts"], row["verdict"], row["action_taken"], row["risk_rule"])
        assert mine.final_confidence == pytest.approx(row["final_confidence"], abs=1e-12)

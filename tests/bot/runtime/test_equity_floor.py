"""The live ruin stop: equity at or below risk.min_equity_usd flattens and halts the bot, and a
backtest of the same bars stops at the same bar with the same trades."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml

from bot.backtest.runner import run_backtest
from bot.composition import paper_broker
from bot.runtime.live import LiveBot
from shared.config.backtest_request import BacktestRequest
from shared.config.settings import load_settings
from shared.domain.models import ExitReason
from shared.persistence import journal_store, ops_store
from shared.persistence.db import connect

pytestmark = pytest.mark.unit

BARS = 600
RISK = {"max_trades_per_day": 40, "cooldown_after_loss_minutes": 1, "max_hold_minutes": 30,
        "min_equity_usd": 24_990.0}  # $10 below the starting $25,000: the first real loss


def _config(tmp_path: Path, risk: dict) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({
        "feed": {"source": "synthetic", "seed": 5, "start": "2021-01-04T00:00:00Z",
                 "bar_seconds": 60, "speed": 1_000_000, "max_bars": BARS},
        "risk": risk, "engine": {"heartbeat_seconds": 0.05}}), encoding="utf-8")
    return path


def _key(trade) -> tuple:
    return (trade.bracket_id, trade.side, trade.contracts, trade.entry_ts, trade.entry_price,
            trade.exit_ts, trade.exit_price, trade.exit_reason, trade.pnl_net_cents)


def test_equity_below_the_floor_halts_the_live_bot_where_the_backtest_stops(tmp_path):
    config = _config(tmp_path, RISK)
    db = tmp_path / "live.db"
    bot = LiveBot(load_settings(config), db, "test", paper_broker)
    assert asyncio.run(bot.run()) == 0
    reader = connect(db, readonly=True)
    state = ops_store.read_bot_state(reader)
    assert state.halted and state.halt_reason.startswith("ruin stop: equity $")
    assert "at or below risk.min_equity_usd $24,990.00" in state.halt_reason
    halts = [e for e in ops_store.recent_events(reader, 1000) if e.kind == "halt"]
    assert len(halts) == 1  # said once, not on every bar below the floor
    live = journal_store.all_trades(reader)
    halted_at = halts[0].ts
    assert live and all(t.entry_ts <= halted_at for t in live)  # no entry after the halt
    assert state.position_side is None
    result = run_backtest(BacktestRequest(data="synthetic", bars=BARS, seed=5, bar_size="1min",
                                          config=str(config)))
    assert result.stopped_reason is not None and result.stopped_reason.startswith("ruined at")
    assert [_key(t) for t in result.trades] == [_key(t) for t in live]
    if live[-1].exit_reason is ExitReason.RUIN_STOP:  # it was in a position: flattened
        assert live[-1].exit_ts >= halted_at  # at the next bar's open, as the backtest


def test_a_floor_never_reached_changes_nothing(tmp_path):
    config = _config(tmp_path, {**RISK, "min_equity_usd": 0.0})
    bot = LiveBot(load_settings(config), tmp_path / "live.db", "test", paper_broker)
    assert asyncio.run(bot.run()) == 0
    state = ops_store.read_bot_state(connect(tmp_path / "live.db", readonly=True))
    assert not state.halted

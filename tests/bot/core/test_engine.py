"""The engine end to end in memory: determinism, brackets, next-bar fills, commands."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from bot.adapters.journal import MemoryJournal, SqliteJournal
from bot.adapters.paper_broker import PaperBroker
from bot.core.engine import TradingEngine
from bot.core.sessions import CmeSessionClock
from shared.config.settings import Settings, settings_from_mapping
from shared.domain.instruments import get_instrument
from shared.domain.models import Action, ExitReason, OrderRole, Side, Verdict
from shared.persistence import journal_store
from tests.conftest import synthetic_bars
from tests.support import open_migrated_journal

RUN_BARS = 1500  # about two hours of 5-s bars: 9 round trips with ACTIVE

ACTIVE = {"risk": {"max_hold_minutes": 10, "max_trades_per_day": 40,
                   "cooldown_after_loss_minutes": 1}}


@pytest.fixture(scope="module")
def clock() -> CmeSessionClock:
    return CmeSessionClock()


def make_engine(settings: Settings, clock: CmeSessionClock, journal=None) -> TradingEngine:
    broker = PaperBroker(get_instrument(settings.instrument.symbol), 62, 1)
    return TradingEngine(settings, broker, journal or MemoryJournal(), clock)


def run(settings: Settings, clock: CmeSessionClock, bars, journal=None) -> MemoryJournal:
    engine = make_engine(settings, clock, journal)
    for bar in bars:
        engine.on_bar(bar)
    return engine.journal


@pytest.fixture(scope="module")
def active_run(clock) -> tuple[Settings, MemoryJournal]:
    settings = settings_from_mapping(ACTIVE, env={})
    return settings, run(settings, clock, synthetic_bars(RUN_BARS))


def test_the_synthetic_market_produces_round_trips(active_run):
    _, journal = active_run
    verdicts = Counter(d.verdict for d in journal.decisions)
    assert verdicts[Verdict.ENTER] >= 3 and len(journal.trades) >= 3
    assert len(journal.decisions) == RUN_BARS


def test_same_bars_give_identical_journals(clock, active_run):
    settings, first = active_run
    second = run(settings, clock, synthetic_bars(RUN_BARS))
    assert second.decisions == first.decisions
    assert second.orders == first.orders
    assert second.fills == first.fills
    assert second.trades == first.trades


def test_every_entry_is_a_bracket_on_the_correct_sides(active_run):
    settings, journal = active_run
    entries = [d for d in journal.decisions if d.verdict is Verdict.ENTER]
    submitted = {e.order.order_id: e.order for e in journal.orders if e.detail == "submitted"}
    for decision in entries:
        bracket = decision.bracket_id
        entry = submitted[f"{bracket}-entry"]
        stop, target = submitted[f"{bracket}-stop"], submitted[f"{bracket}-target"]
        sign = entry.side.sign
        assert stop.side is entry.side.opposite and target.side is entry.side.opposite
        assert (decision.close - stop.price) * sign >= settings.risk.min_stop_points
        assert (target.price - decision.close) * sign == pytest.approx(
            (decision.close - stop.price) * sign * settings.risk.reward_risk_ratio, abs=0.125
        )
        assert stop.created_ts == entry.created_ts == target.created_ts == decision.ts
        assert 1 <= entry.contracts <= settings.risk.max_contracts


def test_entries_fill_at_the_next_bar_open_never_inside_the_signal_bar(active_run):
    _, journal = active_run
    bars_by_ts = {b.ts: b for b in journal.bars}
    decisions = {d.bracket_id: d for d in journal.decisions if d.bracket_id}
    entry_fills = [f for f in journal.fills if f.role is OrderRole.ENTRY]
    assert entry_fills
    for fill in entry_fills:
        decided_at = decisions[fill.bracket_id].ts
        assert fill.ts >= decided_at  # the signal bar ends at decided_at
        slip = 0.25 * fill.side.sign
        assert fill.price == bars_by_ts[fill.ts].open + slip


def test_one_position_at_a_time_and_trades_reconcile_with_fills(active_run):
    _, journal = active_run
    open_positions = 0
    for fill in journal.fills:
        open_positions += 1 if fill.role is OrderRole.ENTRY else -1
        assert open_positions in (0, 1)
    by_bracket = Counter(f.bracket_id for f in journal.fills)
    for trade in journal.trades:
        assert by_bracket[trade.bracket_id] == 2
        assert trade.pnl_net_cents == trade.pnl_gross_cents - trade.commission_cents
        assert trade.labels["bias"] == "neutral" and "time_bucket" in trade.labels


def test_halt_blocks_entries_and_flatten_exits_at_the_next_open(clock):
    settings = settings_from_mapping(ACTIVE, env={})
    engine = make_engine(settings, clock)
    bars = synthetic_bars(RUN_BARS)
    index = 0
    while engine.broker.position() is None:
        engine.on_bar(bars[index])
        index += 1
    engine.flatten(ExitReason.KILL_SWITCH, engine.last_bar.ts + timedelta(seconds=5))
    engine.halt("kill switch", engine.last_bar.ts + timedelta(seconds=5))
    engine.on_bar(bars[index])
    assert engine.broker.position() is None
    journal = engine.journal
    assert journal.trades[-1].exit_reason is ExitReason.KILL_SWITCH
    assert journal.trades[-1].exit_price == bars[index].open + 0.25 * (
        journal.trades[-1].side.opposite.sign
    )
    for bar in bars[index + 1 :]:
        engine.on_bar(bar)
    later = journal.decisions[index + 1 :]
    assert not any(d.verdict is Verdict.ENTER for d in later)
    assert any(d.risk_rule == "halted" for d in later)


def test_signals_while_in_position_are_rejected_as_pyramiding_or_open(active_run):
    _, journal = active_run
    rules = Counter(d.risk_rule for d in journal.decisions if d.verdict is Verdict.REJECT)
    assert rules["no_pyramiding"] + rules["position_open"] > 0


def test_sqlite_journal_records_the_same_run(tmp_path, clock, active_run):
    settings, memory = active_run
    conn = open_migrated_journal(tmp_path / "j.db")
    run(settings, clock, synthetic_bars(RUN_BARS), SqliteJournal(conn))
    assert journal_store.all_trades(conn) == memory.trades
    assert journal_store.table_counts(conn, ["decisions", "bars", "fills"]) == {
        "decisions": RUN_BARS, "bars": RUN_BARS, "fills": len(memory.fills)
    }
    working = journal_store.working_orders(conn, "MES")
    position = journal_store.load_position(conn, "MES")
    roles = {o.role for o in working}
    if position is None:  # flat: nothing working, or a whole bracket waiting for its entry
        assert roles in (set(), {OrderRole.ENTRY, OrderRole.STOP, OrderRole.TARGET})
    else:
        assert OrderRole.STOP in roles and OrderRole.ENTRY not in roles


def test_reconcile_re_places_a_missing_stop_and_journals_it(clock):
    settings = settings_from_mapping(ACTIVE, env={})
    engine = make_engine(settings, clock)
    for bar in synthetic_bars(RUN_BARS):
        engine.on_bar(bar)
        if engine.broker.position() is not None:
            break
    position = engine.broker.position()
    orders = [o for o in engine.broker.working_orders() if o.role is not OrderRole.STOP]
    broker = PaperBroker(get_instrument("MES"), 62, 1, orders, position)
    journal = MemoryJournal()
    restored = TradingEngine(settings, broker, journal, clock)
    messages = restored.reconcile(engine.last_bar.ts)
    assert messages and "no working stop" in messages[0]
    assert [e[1] for e in journal.events] == ["stop_replaced"]
    assert any(o.role is OrderRole.STOP for o in broker.working_orders())
    assert restored.reconcile(engine.last_bar.ts) == []


def test_hold_decisions_are_journaled_with_reasons(active_run):
    _, journal = active_run
    holds = [d for d in journal.decisions if d.verdict is Verdict.HOLD]
    assert holds and all(d.reasons for d in holds)
    assert all(d.signal_action is Action.HOLD for d in holds)


def test_short_and_long_entries_both_occur(active_run):
    _, journal = active_run
    sides = {t.side for t in journal.trades}
    assert sides == {Side.LONG, Side.SHORT}

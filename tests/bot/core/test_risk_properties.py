"""Property tests: every approved entry is a correct bracket and no approval breaks a limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core import risk
from bot.core.risk import EntryRequest, RiskState
from shared.config.settings import RiskConfig
from shared.domain.instruments import get_instrument
from shared.domain.models import Action, OrderPlan, Rejection

NOW = datetime(2025, 3, 4, 15, 0, tzinfo=UTC)

prices = st.integers(min_value=4000 * 4, max_value=7000 * 4).map(lambda ticks: ticks / 4)
risk_configs = st.builds(
    RiskConfig,
    risk_per_trade_usd=st.floats(10, 5000),
    max_contracts=st.integers(1, 20),
    atr_stop_multiplier=st.floats(0.5, 5),
    min_stop_points=st.floats(1, 30),
    reward_risk_ratio=st.floats(0.5, 4),
    confidence_threshold=st.floats(0, 1),
    min_weighted_confidence=st.floats(0, 1),
    daily_loss_limit_usd=st.floats(50, 10000),
    max_trades_per_day=st.integers(1, 30),
    max_consecutive_losses=st.integers(1, 10),
    cooldown_after_loss_minutes=st.floats(0, 60),
    no_entry_before_close_minutes=st.floats(0, 60),
)
states = st.builds(
    RiskState,
    realized_today_cents=st.integers(-1_000_000, 1_000_000),
    entries_today=st.integers(0, 40),
    consecutive_losses=st.integers(0, 12),
    last_loss_ts=st.one_of(
        st.none(), st.integers(0, 120).map(lambda m: NOW - timedelta(minutes=m))
    ),
    halted=st.booleans(),
)
requests = st.builds(
    EntryRequest,
    action=st.sampled_from([Action.BUY, Action.SELL]),
    confidence=st.floats(0, 1),
    close=prices,
    atr_points=st.floats(0.01, 40),
    now=st.just(NOW),
    minutes_to_close=st.floats(0, 600),
    regime_tradable=st.booleans(),
    regime_reasons=st.just(("closed",)),
    position=st.none(),
    entry_pending=st.booleans(),
)


@settings(max_examples=400, deadline=None)
@given(requests, states, risk_configs, st.sampled_from(["MES", "ES"]))
def test_approved_entries_are_correct_brackets_within_every_limit(request, state, cfg, symbol):
    instrument = get_instrument(symbol)
    verdict = risk.plan_entry(request, state, cfg, instrument)
    if isinstance(verdict, Rejection):
        assert verdict.reason
        return
    assert isinstance(verdict, OrderPlan)
    sign = verdict.side.sign
    # stop and target on the correct side, at the configured distance, on the tick grid
    assert (verdict.entry_price - verdict.stop_price) * sign == verdict.stop_points
    assert (verdict.target_price - verdict.entry_price) * sign == verdict.target_points
    expected_stop = max(request.atr_points * cfg.atr_stop_multiplier, cfg.min_stop_points)
    assert expected_stop <= verdict.stop_points < expected_stop + instrument.tick_size
    assert abs(verdict.target_points - verdict.stop_points * cfg.reward_risk_ratio) <= 0.125
    for price in (verdict.entry_price, verdict.stop_price, verdict.target_price):
        assert price * 4 == int(price * 4)
    # no limit violated
    assert not state.halted and request.regime_tradable and not request.entry_pending
    assert request.confidence > cfg.min_weighted_confidence
    assert state.entries_today < cfg.max_trades_per_day
    assert state.consecutive_losses < cfg.max_consecutive_losses
    assert request.minutes_to_close >= cfg.no_entry_before_close_minutes
    if state.last_loss_ts is not None:
        assert request.now >= state.last_loss_ts + timedelta(
            minutes=cfg.cooldown_after_loss_minutes
        )
    assert 1 <= verdict.contracts <= cfg.max_contracts
    loss_at_stop_cents = verdict.contracts * instrument.points_to_ticks(
        verdict.stop_points
    ) * instrument.tick_value_cents
    assert loss_at_stop_cents <= round(cfg.risk_per_trade_usd * 100)
    assert state.realized_today_cents - loss_at_stop_cents >= -round(
        cfg.daily_loss_limit_usd * 100
    )

"""--param: dotted settings apply with every strategy; only keys naming nothing are refused."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bot.backtest.runner import run_backtest
from shared.config.backtest_request import BacktestRequest
from shared.domain.errors import ConfigError

BASE = BacktestRequest(bars=3000, strategy="sma_cross", commission_usd=0, slippage_ticks=0)


def _run(**params: str):
    return run_backtest(BASE.model_copy(update={"params": params}))


def _path(result) -> list[tuple]:
    return [(t.side, t.entry_ts, t.entry_price, t.exit_ts, t.exit_price) for t in result.trades]


def test_risk_max_contracts_sizes_a_reference_strategy():
    one, two = _run(), _run(**{"risk.max_contracts": "2"})
    assert {t.contracts for t in one.trades} == {1}
    assert {t.contracts for t in two.trades} == {2}
    assert _path(two) == _path(one)
    assert [t.pnl_net_cents for t in two.trades] == [2 * t.pnl_net_cents for t in one.trades]


def test_instrument_symbol_es_trades_es_with_its_costs():
    mes = _run()
    es = run_backtest(BASE.model_copy(update={"params": {"instrument.symbol": "ES"},
                                              "commission_usd": None}))
    assert {t.symbol for t in es.trades} == {"ES"}
    assert _path(es) == _path(mes)
    for big, small in zip(es.trades, mes.trades, strict=True):
        assert big.pnl_gross_cents == 10 * small.pnl_gross_cents  # $50 vs $5 a point
        assert big.commission_cents == 2 * 225  # ES default, per contract per side


def test_strategy_parameters_and_settings_mix():
    mixed = _run(fast="5", **{"risk.max_contracts": "3", "backtest.slippage_ticks": "1"})
    fast = _run(fast="5")
    assert {t.contracts for t in mixed.trades} == {3}
    assert [t.entry_ts for t in mixed.trades] == [t.entry_ts for t in fast.trades]
    assert _path(mixed) != _path(fast)  # the slippage setting moved the fills


@pytest.mark.parametrize(
    ("strategy", "params", "message"),
    [
        ("sma_cross", {"risk.nope": "1"}, "--param risk.nope: no setting 'risk.nope'"),
        (None, {"risk.max_contracts.x": "1"}, "'risk.max_contracts' is a setting, not a section"),
        (None, {"fast": "5"}, "--param fast: a bare name is a strategy parameter"),
        ("rsi_macd", {"fast": "5"}, "--param fast: rsi_macd has no parameter 'fast'"),
        ("sma_cross", {"risk..x": "1"}, "--param risk..x: expected a name"),
    ],
)
def test_a_request_naming_no_setting_is_refused_with_the_key(strategy, params, message):
    with pytest.raises(ValidationError, match=message.replace(".", r"\.")):
        BacktestRequest(strategy=strategy, params=params)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"nope": "1"}, "sma_cross --param: nope: Extra inputs are not permitted"),
        ({"instrument.symbol": "XX"}, "instrument.symbol"),
        ({"risk.max_contracts": "lots"}, "risk.max_contracts"),
    ],
)
def test_a_reference_run_refuses_an_unknown_parameter_or_a_bad_value(params, message):
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        _run(**params)

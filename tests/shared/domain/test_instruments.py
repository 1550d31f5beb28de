"""Contract specs, tick rounding and exact P&L arithmetic for MES and ES."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.domain.instruments import get_instrument, round_to_tick, usd_to_cents
from shared.domain.models import Side


def test_point_and_tick_values():
    mes, es = get_instrument("MES"), get_instrument("ES")
    assert (mes.point_value_usd, mes.tick_size, mes.tick_value_cents) == (5, 0.25, 125)
    assert (es.point_value_usd, es.tick_size, es.tick_value_cents) == (50, 0.25, 1250)


def test_default_commissions_per_side():
    assert get_instrument("mes").default_commission_per_side_usd == pytest.approx(0.62)
    assert get_instrument("ES").default_commission_per_side_usd == pytest.approx(2.25)


def test_unknown_symbol_names_the_supported_ones():
    with pytest.raises(ValueError, match="NQ.*supported: ES, MES"):
        get_instrument("NQ")


@pytest.mark.parametrize(
    ("price", "direction", "expected"),
    [
        (5000.1, "nearest", 5000.0),
        (5000.125, "nearest", 5000.25),
        (5000.37, "nearest", 5000.25),
        (5000.01, "up", 5000.25),
        (5000.24, "down", 5000.0),
        (5000.25, "up", 5000.25),
        (5000.25, "down", 5000.25),
        (-1.125, "nearest", -1.25),
    ],
)
def test_round_to_tick(price, direction, expected):
    assert round_to_tick(price, 0.25, direction) == expected


def test_round_to_tick_rejects_bad_arguments():
    with pytest.raises(ValueError, match="positive"):
        round_to_tick(1.0, 0)
    with pytest.raises(ValueError, match="direction"):
        round_to_tick(1.0, 0.25, "sideways")


@given(st.floats(min_value=1, max_value=20000, allow_nan=False))
def test_rounded_prices_sit_on_the_grid(price):
    rounded = round_to_tick(price)
    assert rounded / 0.25 == int(rounded / 0.25)
    assert abs(rounded - price) <= 0.125 + 1e-9


@pytest.mark.parametrize(
    ("symbol", "side", "entry", "exit_", "contracts", "expected_cents"),
    [
        ("MES", Side.LONG, 5000.0, 5010.0, 1, 5000),
        ("MES", Side.SHORT, 5000.0, 5010.0, 2, -10000),
        ("MES", Side.LONG, 5000.0, 5000.25, 3, 375),
        ("ES", Side.LONG, 5000.0, 4990.0, 1, -50000),
        ("ES", Side.SHORT, 5000.0, 4999.75, 1, 1250),
    ],
)
def test_gross_pnl_in_cents(symbol, side, entry, exit_, contracts, expected_cents):
    assert get_instrument(symbol).pnl_cents(side, entry, exit_, contracts) == expected_cents


def test_usd_to_cents_rounds_to_the_cent():
    assert usd_to_cents(0.62) == 62
    assert usd_to_cents(2.25) == 225
    assert usd_to_cents(0.1 + 0.2) == 30

"""Continuous-futures adjustment against hand computations on synthetic quarterly rolls."""

from __future__ import annotations

import numpy as np
import pytest

from shared.domain.continuous import Adjustment, RollSplice, adjust, factors, offsets_points

pytestmark = pytest.mark.unit

# Twelve daily closes over three contracts: H (days 0-3), M (days 4-7), U (days 8-11).
# At the H->M roll M trades 20 points over H; at M->U, U trades 12.5 points over M.
DAY_NS = 86_400 * 10**9
TS = np.arange(12, dtype=np.int64) * DAY_NS
CLOSE = np.array([5000.0, 5004.0, 4998.0, 5002.0,   # H
                  5022.0, 5030.0, 5026.0, 5040.0,   # M (the roll gap is in the data)
                  5052.5, 5050.0, 5060.0, 5055.0])  # U
ROLLS = [
    RollSplice(4 * DAY_NS, "MESH5", "MESM5", old_close=5002.0, new_close=5022.0),
    RollSplice(8 * DAY_NS, "MESM5", "MESU5", old_close=5040.0, new_close=5052.5),
]


def columns(close: np.ndarray) -> dict[str, np.ndarray]:
    return {"open": close - 1.0, "high": close + 2.0, "low": close - 3.0, "close": close}


def test_back_adjustment_adds_the_later_gaps_by_hand():
    out = adjust(TS, columns(CLOSE), ROLLS, Adjustment.BACK_ADJUSTED, 0.25)
    by_hand = [5000 + 32.5, 5004 + 32.5, 4998 + 32.5, 5002 + 32.5,  # both gaps: 20 + 12.5
               5022 + 12.5, 5030 + 12.5, 5026 + 12.5, 5040 + 12.5,  # the M->U gap only
               5052.5, 5050, 5060, 5055]                            # the last contract as is
    assert out["close"].tolist() == by_hand
    assert out["high"].tolist() == [c + 2.0 for c in by_hand]
    # The roll jumps are gone: day 3 -> 4 moves +20 unadjusted, 0 adjusted (5034.5 -> 5034.5).
    assert out["close"][4] - out["close"][3] == 0.0 and out["close"][8] - out["close"][7] == 0.0
    # Every move inside a contract is kept to the point.
    inside = [i for i in range(1, 12) if i not in (4, 8)]
    assert np.diff(out["close"])[[i - 1 for i in inside]].tolist() == (
        np.diff(CLOSE)[[i - 1 for i in inside]].tolist())


def test_ratio_adjustment_multiplies_by_the_later_ratios_by_hand():
    out = adjust(TS, columns(CLOSE), ROLLS, Adjustment.RATIO, 0.25)
    both = (5022.0 / 5002.0) * (5052.5 / 5040.0)
    last = 5052.5 / 5040.0
    by_hand = ([round(c * both * 4) / 4 for c in (5000.0, 5004.0, 4998.0, 5002.0)]
               + [round(c * last * 4) / 4 for c in (5022.0, 5030.0, 5026.0, 5040.0)]
               + [5052.5, 5050.0, 5060.0, 5055.0])
    assert out["close"].tolist() == by_hand
    assert factors(TS, ROLLS)[0] == pytest.approx(both)
    # The percentage move of each contract day is kept (to the rounding of half a tick).
    unrounded = CLOSE * factors(TS, ROLLS)
    assert unrounded[4] == pytest.approx(unrounded[3])  # the H->M jump is gone
    assert np.all(np.abs(out["close"] - unrounded) <= 0.125 + 1e-9)


def test_none_and_no_rolls_leave_prices_untouched():
    prices = columns(CLOSE)
    for method, rolls in ((Adjustment.NONE, ROLLS), (Adjustment.BACK_ADJUSTED, [])):
        out = adjust(TS, prices, rolls, method, 0.25)
        assert all(np.array_equal(out[k], prices[k]) for k in prices)
        assert out["close"] is not prices["close"]


def test_a_bar_at_the_roll_time_is_the_new_contract_and_roll_order_does_not_matter():
    assert offsets_points(TS, list(reversed(ROLLS))).tolist() == (
        [32.5] * 4 + [12.5] * 4 + [0.0] * 4)


def test_a_non_positive_close_is_refused_by_name():
    bad = [RollSplice(4 * DAY_NS, "MESH5", "MESM5", 0.0, 5022.0)]
    with pytest.raises(ValueError, match="MESH5->MESM5: closes must be positive"):
        adjust(TS, columns(CLOSE), bad, Adjustment.RATIO, 0.25)

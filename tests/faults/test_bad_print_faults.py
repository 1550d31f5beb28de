"""One bad print, live and backtested: never filled, journaled, and live = backtest still."""

from __future__ import annotations

import pytest

from tests.faults.bad_prints import bad_print_replay

pytestmark = pytest.mark.integration


def test_bad_prints_are_quarantined_live_and_in_the_backtest_alike(tmp_path):
    result = bad_print_replay(tmp_path)
    assert result.bad_price_fills == 0, result.detail
    assert result.bad_bar_events == 2 and result.parity, result.detail
    assert result.survived, result.detail
    # Without the filter the same file fills the long's stop at $0 (one MES, about -$25k) and
    # the bad_fill alarm counts it.
    assert result.unfiltered_worst_trade_cents < -2_000_000, result.detail
    assert result.unfiltered_bad_fills >= 1, result.detail

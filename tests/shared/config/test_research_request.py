"""A research request: what it refuses before any backtest runs."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.config.backtest_request import BacktestRequest
from shared.config.research_request import ResearchRequest


@pytest.mark.parametrize("backtest", [
    BacktestRequest(llm="record", llm_yes_spend=True), BacktestRequest(llm="replay-cache"),
    BacktestRequest(news="headlines.csv"),
])
def test_research_refuses_backtests_with_the_llm_or_headlines(backtest):
    with pytest.raises(ValidationError, match="without the LLM and headlines"):
        ResearchRequest(kind="sweep", backtest=backtest, grid={"risk.max_contracts": ["1", "2"]})


def test_a_plain_sweep_request_is_accepted():
    request = ResearchRequest(kind="sweep", grid={"risk.max_contracts": ["1", "2"]})
    assert request.grid_points() == 2 and request.backtest.llm == "off"

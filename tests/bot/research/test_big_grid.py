"""A command-line grid of more than 1,000 points needs ``--yes`` (issue 19: a 10,000-point grid
started without a word)."""

from __future__ import annotations

import pytest

from bot.__main__ import main
from bot.research.cli import CONFIRM_GRID_POINTS, big_grid_problem
from shared.config.research_request import ResearchRequest

pytestmark = pytest.mark.unit

VALUES = ",".join(str(v) for v in range(1, 11))
BIG = ["--grid", f"risk.max_hold_minutes={VALUES}", "--grid", f"risk.min_stop_points={VALUES}",
       "--grid", f"risk.reward_risk_ratio={VALUES},11"]  # 1,100 points


def sweep(grid: dict[str, list[str]], **extra) -> ResearchRequest:
    return ResearchRequest.model_validate({"kind": "sweep", "grid": grid, **extra})


def test_a_grid_above_the_threshold_needs_confirmation():
    ten = [str(v) for v in range(10)]
    at_limit = sweep({"risk.max_hold_minutes": ten, "risk.min_stop_points": ten,
                      "risk.reward_risk_ratio": ten})
    assert at_limit.grid_points() == CONFIRM_GRID_POINTS
    assert big_grid_problem(at_limit, confirmed=False) is None
    above = sweep({**at_limit.grid, "risk.max_contracts": ["1", "2"]})
    problem = big_grid_problem(above, confirmed=False)
    assert problem is not None and problem.startswith("--grid: 2,000 points, each a full "
                                                      "backtest: add --yes")
    assert big_grid_problem(above, confirmed=True) is None
    assert big_grid_problem(sweep(above.grid, search="tpe"), confirmed=False) is None


def test_the_command_line_refuses_it_in_one_line_before_any_backtest(capsys):
    code = main(["research", "sweep", "--bars", "3000", *BIG])
    err = capsys.readouterr().err
    assert code == 2
    assert err == ("error: --grid: 1,100 points, each a full backtest: add --yes to run them "
                   "all, or shrink the grid (or --search tpe --trials N); refused above 1,000 "
                   "points without --yes\n")

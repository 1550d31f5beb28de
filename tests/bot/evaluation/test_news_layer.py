"""``--layer news``: the rolling sentiment on vs off, and its placebo (the same headlines at the
same times, their scores shuffled among them)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.backtest.data import SYNTHETIC_START, synthetic_data
from bot.core.sentiment import HeadlineScore
from bot.evaluation.runs import EvalTask, run_eval_task, shuffled_scores
from shared.config.backtest_request import BacktestRequest

pytestmark = pytest.mark.unit


def headlines(count: int) -> tuple[HeadlineScore, ...]:
    return tuple(HeadlineScore(SYNTHETIC_START + timedelta(minutes=30 * n),
                               0.9 if n % 4 else -0.9, ("test", n)) for n in range(count))


def test_the_placebo_keeps_times_and_scores_and_shuffles_which_goes_where():
    real = headlines(40)
    placebo = shuffled_scores(real, 3)
    assert [h.received_at for h in placebo] == [h.received_at for h in real]
    assert sorted(h.score for h in placebo) == sorted(h.score for h in real)
    assert [h.score for h in placebo] != [h.score for h in real]
    assert shuffled_scores(real, 3) == placebo and shuffled_scores(real, None) == list(real)


def test_sentiment_on_changes_the_run_and_off_is_the_plain_backtest():
    data = synthetic_data(6000, 7, 60, None)
    data = data.slice(0, len(data), first=300)
    request = BacktestRequest.model_validate({"data": "synthetic", "bars": 6000}).to_json()
    news = headlines(200)
    off = run_eval_task(EvalTask("off", request, False, "news", headlines=news), data)
    plain = run_eval_task(EvalTask("plain", request, False, "memory"), data)
    on = run_eval_task(EvalTask("on", request, True, "news", headlines=news), data)
    assert [t.pnl_net_cents for t in off.trades] == [t.pnl_net_cents for t in plain.trades]
    assert [t.entry_ts for t in on.trades] != [t.entry_ts for t in off.trades]

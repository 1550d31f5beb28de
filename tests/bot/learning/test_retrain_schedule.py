"""The retrain schedule's decision (pure): due after N new labelled examples or a week with
something new; never when off; it starts a job only with every setting and within its cap."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.learning.retrain_schedule import WEEK, schedule_decision, start_blockers
from shared.config.finetune import FinetuneConfig

pytestmark = pytest.mark.unit

NOW = datetime(2026, 12, 7, 22, 0, tzinfo=UTC)
READY = {"auto_start": True, "retrain_base_model": "base", "retrain_s3_uri": "s3://b/p",
         "retrain_role_arn": "arn:aws:iam::1:role/r", "retrain_max_usd": 5.0}


def cfg(**values) -> FinetuneConfig:
    return FinetuneConfig.model_validate(values)


def test_off_by_default_whatever_the_examples():
    decision = schedule_decision(cfg(), 10_000, None, NOW)
    assert not decision.due and "off" in decision.reason


@pytest.mark.parametrize(("new", "due"), [(0, False), (49, False), (50, True), (51, True)])
def test_count_trigger_fires_at_n_new_examples(new, due):
    decision = schedule_decision(cfg(retrain_after_examples=50), new, NOW - timedelta(days=1),
                                 NOW)
    assert decision.due is due
    assert f"{new} new labelled examples" in decision.reason


@pytest.mark.parametrize(("since_last", "new", "due"), [
    (WEEK - timedelta(minutes=1), 5, False),
    (WEEK, 5, True),
    (WEEK * 3, 0, False),  # a week of nothing new teaches nothing
    (None, 1, True),  # never ran: due at once
])
def test_weekly_trigger_needs_a_week_and_something_new(since_last, new, due):
    last = None if since_last is None else NOW - since_last
    decision = schedule_decision(cfg(retrain_weekly=True), new, last, NOW)
    assert decision.due is due, decision.reason


def test_either_trigger_suffices():
    both = cfg(retrain_after_examples=100, retrain_weekly=True)
    assert schedule_decision(both, 100, NOW - timedelta(hours=1), NOW).due
    assert schedule_decision(both, 3, NOW - WEEK, NOW).due
    assert not schedule_decision(both, 3, NOW - timedelta(days=2), NOW).due


def test_start_needs_auto_start_every_setting_clean_files_and_the_cap():
    assert start_blockers(cfg(**READY), 5.0) == []
    assert start_blockers(cfg(**{**READY, "auto_start": False}), 1.0) == [
        "finetune.auto_start is off"]
    assert start_blockers(cfg(**READY), 5.01) == [
        "estimate $5.01 is above finetune.retrain_max_usd ($5.00)"]
    empty = start_blockers(cfg(auto_start=True), 0.0)
    assert empty == ["finetune.retrain_base_model is empty", "finetune.retrain_role_arn is empty",
                     "finetune.retrain_s3_uri is empty"]
    assert start_blockers(cfg(**READY), 0.0, ("training file: 3 example(s)",)) == [
        "training file: 3 example(s)"]

"""The learned-rules guard: what each rule kind does to an entry, and only in its bucket."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.rules import RuleBook, evaluate_entry
from shared.domain.models import Side
from shared.domain.rules import (
    Bucket,
    LearnedRule,
    RuleError,
    RuleKind,
    RuleStatus,
    parse_rule,
    transition_problem,
)

NOW = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=3)
LABELS = {"trend": "range", "volatility": "high", "time_bucket": "open"}


def rule(rule_id: int, kind: RuleKind, bucket: Bucket, **values) -> LearnedRule:
    return LearnedRule(rule_id, kind, bucket, LATER, **values)


def test_a_lock_refuses_only_its_side_and_bucket():
    book = RuleBook((rule(4, RuleKind.LOCK_BUCKET, Bucket(Side.LONG, "range", "high")),))
    refused = evaluate_entry(book, Side.LONG, LABELS, 0.9, NOW)
    assert not refused.allowed and refused.refused_by == 4
    assert "rule #4" in refused.reasons[0] and "locked" in refused.reasons[0]
    assert evaluate_entry(book, Side.SHORT, LABELS, 0.9, NOW).allowed
    assert evaluate_entry(book, Side.LONG, {**LABELS, "volatility": "normal"}, 0.9, NOW).allowed


def test_a_raised_threshold_refuses_below_it_and_notes_a_pass():
    book = RuleBook((rule(2, RuleKind.RAISE_THRESHOLD, Bucket(None, "range"),
                          min_confidence=0.7),))
    below = evaluate_entry(book, Side.SHORT, LABELS, 0.69, NOW)
    assert not below.allowed and below.refused_by == 2
    above = evaluate_entry(book, Side.SHORT, LABELS, 0.7, NOW)
    assert above.allowed and above.applied == (2,) and "passes" in above.reasons[0]


def test_a_shorter_time_exit_takes_the_shortest_matching_rule():
    book = RuleBook((rule(1, RuleKind.SHORTEN_TIME_EXIT, Bucket(), max_hold_minutes=20.0),
                     rule(3, RuleKind.SHORTEN_TIME_EXIT, Bucket(None, "range", "high"),
                          max_hold_minutes=12.0)))
    verdict = evaluate_entry(book, Side.LONG, LABELS, 0.8, NOW)
    assert verdict.allowed and verdict.max_hold_minutes == 12.0
    assert json.loads(verdict.to_json())["max_hold_minutes"] == 12.0


def test_expired_rules_do_nothing_and_no_rules_record_nothing():
    book = RuleBook((LearnedRule(5, RuleKind.LOCK_BUCKET, Bucket(), NOW),))
    verdict = evaluate_entry(book, Side.LONG, LABELS, 0.9, NOW)
    assert verdict.allowed and verdict.to_json() == "{}"


@given(st.floats(0, 1), st.sampled_from(list(Side)), st.floats(0, 1))
def test_a_rule_never_allows_what_it_should_refuse(confidence, side, threshold):
    book = RuleBook((rule(9, RuleKind.RAISE_THRESHOLD, Bucket(), min_confidence=threshold),))
    verdict = evaluate_entry(book, side, LABELS, confidence, NOW)
    assert verdict.allowed == (confidence >= threshold)
    assert verdict.max_hold_minutes is None


def test_stored_parameters_are_checked_field_by_field():
    params = json.dumps({"bucket": {"side": "long", "trend": "range"}, "min_confidence": 0.6})
    parsed = parse_rule(3, "raise_threshold", params, LATER)
    assert parsed.bucket == Bucket(Side.LONG, "range") and parsed.min_confidence == 0.6
    bad = {
        ("lock_bucket", '{"bucket": {"trend": "sideways"}}'): "bucket.trend",
        ("raise_threshold", '{"bucket": {}, "min_confidence": 1.5}'): "min_confidence",
        ("raise_threshold", '{"bucket": {}}'): "min_confidence",
        ("lock_bucket", '{"bucket": {}, "stop_points": 3}'): "unknown key stop_points",
        ("move_stop", "{}"): "unknown rule kind",
        ("lock_bucket", "[1]"): "JSON object",
    }
    for (kind, text), needle in bad.items():
        with pytest.raises(RuleError, match=needle):
            parse_rule(1, kind, text, LATER)


def test_status_transitions():
    assert transition_problem(RuleStatus.PROPOSED, RuleStatus.APPROVED) is None
    assert transition_problem(RuleStatus.APPROVED, RuleStatus.EXPIRED) is None
    assert "already" in transition_problem(RuleStatus.APPROVED, RuleStatus.APPROVED)
    assert transition_problem(RuleStatus.EXPIRED, RuleStatus.APPROVED) is not None

"""A decision row's texts are what ``json.dumps`` and ``astimezone(UTC).isoformat()`` give.

The journal writes one decision per bar, so ``insert_decisions`` keeps its encoders and the
codec skips the conversion of a time already in UTC; the stored text must not change.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from shared.domain.models import Action, Bar, DecisionRecord, Verdict
from shared.persistence import codec, journal_store
from shared.persistence.db import write_transaction

pytestmark = pytest.mark.unit

T0 = datetime(2025, 3, 4, 15, 0, 0, 123456, tzinfo=UTC)


@pytest.mark.parametrize("ts", [
    T0, T0.replace(microsecond=0), T0.astimezone(ZoneInfo("America/New_York")),
    T0.astimezone(timezone(timedelta(hours=-5))), T0.astimezone(ZoneInfo("UTC")),
], ids=str)
def test_to_text_is_the_utc_isoformat(ts: datetime) -> None:
    assert codec.to_text(ts) == ts.astimezone(UTC).isoformat()
    assert codec.from_text(codec.to_text(ts)) == ts


def test_to_text_still_refuses_a_naive_time() -> None:
    with pytest.raises(ValueError, match="naive timestamp"):
        codec.to_text(datetime(2025, 3, 4, 15, 0))


def test_decision_row_texts_are_unchanged(conn) -> None:
    reasons = ("rsi < 30", 'quote " and \\', "ünïcode ✓", "")
    labels = {"trend": "range", "bias": "neutral", "volatility": "low", "time_bucket": "open"}
    recorded = T0.astimezone(ZoneInfo("Europe/Paris")) + timedelta(seconds=1)
    record = DecisionRecord(T0, "MES", 5000.25, "{}", "{}", "[]", Action.BUY, 0.5, 0.0, 0.0,
                            0.5, Verdict.HOLD, None, reasons, "none", None, labels)
    with write_transaction(conn):
        journal_store.insert_decisions(conn, [record], recorded)
    row = journal_store.recent_decisions(conn, 1)[0]
    assert row["reasons_json"] == json.dumps(list(reasons))
    assert row["labels_json"] == json.dumps(labels, sort_keys=True)
    assert row["ts"] == T0.isoformat()
    assert row["recorded_at"] == recorded.astimezone(UTC).isoformat()


@pytest.mark.parametrize(("reasons", "labels"), [
    ((), {}),
    (("only",), {"b": "2", "a": "1"}),
    (("tab\there", "nul\x00", "emoji \U0001f600"), {"ü": "✓", "quote\"": "back\\slash"}),
    (("text", 3, None, 1.5), {"trend": "range", "size": 2, "gone": None}),  # other types
], ids=["empty", "sorted", "escapes", "other-types"])
def test_reasons_and_labels_texts_are_json_dumps(conn, reasons: tuple, labels: dict) -> None:
    record = DecisionRecord(T0, "MES", 5000.25, "{}", "{}", "[]", Action.HOLD, 0.0, 0.0, 0.0,
                            0.0, Verdict.HOLD, None, reasons, "none", None, labels)
    with write_transaction(conn):
        journal_store.insert_decisions(conn, [record], T0)
    row = journal_store.recent_decisions(conn, 1)[0]
    assert row["reasons_json"] == json.dumps(list(reasons))
    assert row["labels_json"] == json.dumps(labels, sort_keys=True)


@pytest.mark.parametrize("labels", [
    {"trend": "range", "bias": "neutral"},
    {"bias": "neutral", "trend": "range"},  # the same items in another order: same text
    {"trend": "range", "bias": "neutral"},  # seen before: answered from the encoded texts
    {"trend": "range", "bias": 1},  # equal to no text label
    {"trend": "range", "bias": True},
    {"trend": "range", "bias": ["a", "b"]},  # unhashable: through the encoder
], ids=["first", "reordered", "again", "int", "bool", "list"])
def test_repeated_labels_keep_their_json_dumps_text(conn, labels: dict) -> None:
    record = DecisionRecord(T0, "MES", 5000.25, "{}", "{}", "[]", Action.HOLD, 0.0, 0.0, 0.0,
                            0.0, Verdict.HOLD, None, ("r",), "none", None, labels)
    with write_transaction(conn):
        journal_store.insert_decisions(conn, [record], T0)
        journal_store.insert_decision(conn, record, T0)  # the live journal's one-row form
    first, second = journal_store.recent_decisions(conn, 2)
    assert first["labels_json"] == second["labels_json"] == json.dumps(labels, sort_keys=True)
    assert {k: v for k, v in first.items() if k != "id"} == {
        k: v for k, v in second.items() if k != "id"}


def test_one_bar_insert_stores_what_the_list_insert_stores(conn) -> None:
    bar = Bar(T0, 5000.0, 5001.25, 4999.5, 5000.75, 12.0)
    with write_transaction(conn):
        journal_store.insert_bar(conn, "MES", bar)
    assert journal_store.recent_bars(conn, "MES", 5) == [bar]
    with write_transaction(conn):
        journal_store.insert_bars(conn, "MES", [bar])  # the same bar again replaces it
    assert journal_store.recent_bars(conn, "MES", 5) == [bar]

"""Retention: old rows go (archived first, file equal to what was deleted), needed rows stay."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest

from bot.maintenance import retention
from bot.maintenance.archive import read_archive
from bot.maintenance.retention import Plan, apply_retention, prune_table
from shared.config.maintenance import MaintenanceConfig
from shared.domain.alerts import DeliveryStatus
from shared.domain.memory import MemoryRow, MemorySetup, ShadowPlan
from shared.domain.models import Position, Side
from shared.persistence import journal_store, memory_store
from shared.persistence.db import connect, write_transaction
from tests.bot.maintenance.journal_rows import (
    NOW,
    add_alert,
    add_decision,
    add_event,
    add_lesson,
    add_llm_call,
    decision,
    ids,
    rows,
)

pytestmark = pytest.mark.unit

DAY = timedelta(days=1)
CONFIG = MaintenanceConfig(decisions_days=3, events_days=3, llm_calls_days=3, alerts_days=3,
                           batch_pause_ms=0)


def archived(folder: Path, table: str) -> list[dict]:
    found = []
    for path in sorted((folder / table).glob("*.parquet")):
        found.extend(read_archive(path))
    return sorted(found, key=lambda r: r["id"])


def test_rows_older_than_the_cut_are_archived_exactly_then_deleted_and_newer_ones_kept(
        conn, tmp_path):
    old = [add_decision(conn, NOW - 10 * DAY + i * timedelta(minutes=5)) for i in range(30)]
    new = [add_decision(conn, NOW - 2 * DAY + i * timedelta(minutes=5)) for i in range(5)]
    old_events = [add_event(conn, NOW - 5 * DAY, f"old {i}") for i in range(4)]
    new_events = [add_event(conn, NOW - DAY, "new")]
    before = {"decisions": rows(conn, "decisions", f"id <= {old[-1]}"),
              "events": rows(conn, "events", f"id <= {old_events[-1]}")}

    outcomes = apply_retention(conn, CONFIG, NOW, tmp_path / "archive")

    assert ids(conn, "decisions") == new
    assert ids(conn, "events") == new_events
    assert {o.table: o.deleted for o in outcomes} == {"decisions": 30, "events": 4,
                                                       "llm_calls": 0, "alerts": 0}
    for table in ("decisions", "events"):
        assert archived(tmp_path / "archive", table) == before[table]
    for path in (tmp_path / "archive").rglob("*.parquet"):
        assert path.stat().st_mode & 0o777 == 0o600
    assert not list((tmp_path / "archive").rglob("*.partial"))


def test_entry_decisions_memory_decisions_and_open_position_decisions_are_kept(conn, tmp_path):
    entry = add_decision(conn, NOW - 20 * DAY, bracket_id="B1")
    refused = add_decision(conn, NOW - 20 * DAY + timedelta(minutes=1))
    plain = add_decision(conn, NOW - 20 * DAY + timedelta(minutes=2))
    shadow = MemoryRow("S1", MemorySetup(NOW - 20 * DAY + timedelta(minutes=1), Side.LONG, 1,
                                         (0.5, 1.0), ("open", "high", "up"), None, None),
                       2500, shadow_plan=ShadowPlan(4990.0, 5010.0, 1))
    with write_transaction(conn):
        memory_store.insert_memory_setup(conn, "MES", shadow, NOW - 20 * DAY)
    during_position = add_decision(conn, NOW - 6 * DAY)
    newest = add_decision(conn, NOW - DAY)
    with write_transaction(conn):
        journal_store.save_position(conn, "MES", Position(
            "MES", Side.LONG, 1, 5000.0, NOW - 6 * DAY - timedelta(minutes=1), "B9", 4990.0,
            5010.0), NOW - 6 * DAY)

    apply_retention(conn, CONFIG, NOW, None)

    assert plain not in ids(conn, "decisions")
    assert ids(conn, "decisions") == [entry, refused, during_position, newest]


def test_llm_calls_a_decision_or_lesson_names_are_kept_and_undelivered_alerts_stay(
        conn, tmp_path):
    named_by_decision, named_by_lesson, unused = (add_llm_call(conn, NOW - 30 * DAY)
                                                  for _ in range(3))
    add_decision(conn, NOW - DAY, llm_call_id=named_by_decision)
    add_lesson(conn, named_by_lesson, NOW - 30 * DAY)
    newest_call = add_llm_call(conn, NOW - DAY)
    sent = add_alert(conn, NOW - 9 * DAY, "a1", attempts=2)
    failed = add_alert(conn, NOW - 9 * DAY, "a2", DeliveryStatus.FAILED, attempts=3)
    queued = add_alert(conn, NOW - 9 * DAY, "a3", DeliveryStatus.QUEUED)
    recent = add_alert(conn, NOW - DAY, "a4")
    attempts_before = rows(conn, "alert_attempts", f"alert_id IN ({sent}, {failed})")
    alerts_before = rows(conn, "alerts", f"id IN ({sent}, {failed})")

    apply_retention(conn, CONFIG, NOW, tmp_path / "archive")

    assert unused not in ids(conn, "llm_calls")
    assert ids(conn, "llm_calls") == [named_by_decision, named_by_lesson, newest_call]
    assert ids(conn, "alerts") == [queued, recent]
    assert rows(conn, "alert_attempts", f"alert_id IN ({sent}, {failed})") == []
    assert archived(tmp_path / "archive", "alerts") == alerts_before
    assert archived(tmp_path / "archive", "alert_attempts") == attempts_before
    assert len(attempts_before) == 5


def test_the_newest_row_stays_so_ids_never_go_back(conn, tmp_path):
    written = [add_event(conn, NOW - 40 * DAY) for _ in range(3)]
    apply_retention(conn, CONFIG, NOW, None)
    assert ids(conn, "events") == [written[-1]]
    assert add_event(conn, NOW) == written[-1] + 1


def test_many_batches_and_files_lose_nothing_and_zero_days_keeps_everything(
        conn, tmp_path, monkeypatch):
    monkeypatch.setattr(retention, "BATCHES_PER_FILE", 2)
    with write_transaction(conn):
        journal_store.insert_decisions(
            conn, [decision(NOW - 9 * DAY + i * timedelta(seconds=5)) for i in range(1000)],
            NOW - 9 * DAY)
        journal_store.insert_decisions(conn, [decision(NOW)], NOW)
    before = rows(conn, "decisions", "id <= 1000")
    plan = Plan("decisions", NOW - 3 * DAY, tmp_path / "a", "s", 150, 0.0)
    outcome = prune_table(conn, plan)
    assert outcome.deleted == 1000 and len(outcome.archived) == 4  # 7 batches, 2 per file
    assert archived(tmp_path / "a", "decisions") == before
    assert ids(conn, "decisions") == [1001]

    add_event(conn, NOW - 99 * DAY)
    add_event(conn, NOW - 99 * DAY)
    keep_all = MaintenanceConfig(decisions_days=0, events_days=0, llm_calls_days=0,
                                 alerts_days=0)
    assert apply_retention(conn, keep_all, NOW, tmp_path / "b") == []
    assert len(ids(conn, "events")) == 2 and not (tmp_path / "b").exists()


def test_a_concurrent_writer_is_never_refused_while_retention_deletes(conn, tmp_path):
    with write_transaction(conn):
        journal_store.insert_decisions(
            conn, [decision(NOW - 9 * DAY + i * timedelta(seconds=5)) for i in range(6000)],
            NOW - 9 * DAY)
    writer = connect(tmp_path / "t.db")  # the bot's own connection: busy_timeout 5 s
    errors: list[BaseException] = []
    written: list[int] = []
    started, done = threading.Event(), threading.Event()

    def bot_writes() -> None:  # the bot journals a decision per bar until retention is done
        try:
            while not done.is_set() or not written:
                with write_transaction(writer):
                    journal_store.insert_decisions(
                        writer, [decision(NOW + len(written) * timedelta(seconds=5))], NOW)
                written.append(1)
                started.set()
                done.wait(0.002)  # a bar every 2 ms: far faster than the bot's 5 s
        except BaseException as exc:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(exc)
            started.set()

    thread = threading.Thread(target=bot_writes)
    thread.start()
    assert started.wait(30)
    try:
        outcome = prune_table(conn, Plan("decisions", NOW - 3 * DAY, tmp_path / "a", "s", 500,
                                         0.001))
    finally:
        done.set()
        thread.join(60)
        writer.close()
    assert errors == []
    assert outcome.deleted == 6000
    assert len(ids(conn, "decisions")) == len(written) > 0

"""The operations tables read back as typed, frozen rows (events, commands, config versions)."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta

import pytest

from shared.domain.models import CommandKind, CommandStatus
from shared.persistence import ops_store
from shared.persistence.db import write_transaction

pytestmark = pytest.mark.unit

T0 = datetime(2025, 3, 4, 15, 0, tzinfo=UTC)


def test_events_come_back_newest_first_with_tz_aware_times(conn):
    with write_transaction(conn):
        ops_store.insert_event(conn, T0, "bad_bar", "warning", "first", {"n": 1},
                               T0 + timedelta(seconds=1))
        ops_store.insert_event(conn, T0 + timedelta(minutes=1), "halt", "incident", "second",
                               None, T0 + timedelta(minutes=1, seconds=1))
    newest, oldest = ops_store.recent_events(conn)
    assert isinstance(newest, ops_store.EventRow) and newest.event_id > oldest.event_id
    assert (oldest.ts, oldest.kind, oldest.severity, oldest.message) == (
        T0, "bad_bar", "warning", "first")
    assert oldest.recorded_at == T0 + timedelta(seconds=1) and oldest.ts.tzinfo is not None
    assert json.loads(oldest.detail_json) == {"n": 1} and newest.detail_json == "{}"
    assert [e.message for e in ops_store.recent_events(conn, 1)] == ["second"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        newest.kind = "other"


def test_a_command_outcome_carries_its_status_as_the_enum(conn):
    with write_transaction(conn):
        command_id = ops_store.enqueue_command(conn, CommandKind.HALT, T0, {"reason": "lunch"})
    pending = ops_store.command_outcome(conn, command_id)
    assert pending == ops_store.CommandOutcome(
        command_id, T0, "halt", '{"reason": "lunch"}', CommandStatus.PENDING, "", None,
        "dashboard")
    with write_transaction(conn):
        ops_store.complete_command(conn, command_id, CommandStatus.DONE, "halted",
                                   T0 + timedelta(seconds=2))
    done = ops_store.command_outcome(conn, command_id)
    assert done.status is CommandStatus.DONE and done.result == "halted"
    assert done.processed_at == T0 + timedelta(seconds=2)
    assert ops_store.command_outcome(conn, command_id + 1) is None


def test_the_active_config_version_is_a_typed_row(conn):
    assert ops_store.active_config_version(conn) is None
    with write_transaction(conn):
        ops_store.insert_config_version(conn, "a: 1\n", "bot", "first", T0)
    with write_transaction(conn):
        second = ops_store.insert_config_version(conn, "a: 2\n", "me", "second",
                                                 T0 + timedelta(hours=1))
    assert ops_store.active_config_version(conn) == ops_store.ConfigVersionRow(
        second, T0 + timedelta(hours=1), "me", "second", "a: 2\n", True)

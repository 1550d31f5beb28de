"""Telegram commands: only allowed chats, the same command queue as the dashboard, /confirm."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.alerts.remote import RemoteCommands
from shared.domain.models import CommandStatus
from shared.persistence import ops_store
from shared.persistence.db import write_transaction
from tests.bot.alerts import journal_rows as rows
from tests.support import open_migrated_journal

ALLOWED = 4242
STRANGER = 666


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def setup(tmp_path):
    conn = open_migrated_journal(tmp_path / "t.db")
    clock = Clock()
    yield conn, clock, RemoteCommands(conn, frozenset({ALLOWED}), clock)
    conn.close()


def all_commands(conn):
    return [dict(r) for r in conn.execute("SELECT * FROM commands ORDER BY id")]


def test_a_chat_outside_the_allow_list_is_dropped_counted_and_not_journaled(setup, caplog):
    conn, _, remote = setup
    with caplog.at_level("WARNING", logger="bot.alerts.remote"):
        for _ in range(805):  # a flood from one stranger
            assert remote.handle(STRANGER, "/flatten") is None
        assert remote.handle(STRANGER, "/confirm") is None
    assert ops_store.pending_commands(conn) == [] and all_commands(conn) == []
    assert remote.refused == {STRANGER: 806}
    logged = [r.getMessage() for r in caplog.records]
    assert len(logged) == 3  # the 1st, 10th and 100th message, not 806 lines
    assert "not in ALERT_TELEGRAM_COMMAND_CHATS (100 message(s)" in logged[-1]


def test_halt_and_resume_go_through_the_dashboard_s_command_queue_with_their_author(setup):
    conn, _, remote = setup
    reply = remote.handle(ALLOWED, "/halt")
    assert reply.command_id is not None and "queued as command" in reply.text
    remote.handle(ALLOWED, "/resume@MyTraderBot")
    pending = ops_store.pending_commands(conn)
    assert [c.kind for c in pending] == ["halt", "resume"]
    assert {c["author"] for c in all_commands(conn)} == {"telegram:4242"}
    assert remote.outcome(reply.command_id) is None  # the bot has not run it yet
    with write_transaction(conn):
        ops_store.complete_command(conn, reply.command_id, CommandStatus.DONE,
                                   "entries halted", datetime.now(UTC))
    assert remote.outcome(reply.command_id) == f"#{reply.command_id} halt done: entries halted"


def test_flatten_without_confirmation_does_nothing(setup):
    conn, clock, remote = setup
    assert "Send /confirm within 60 s" in remote.handle(ALLOWED, "/flatten").text
    assert ops_store.pending_commands(conn) == []
    clock.now += timedelta(seconds=61)
    assert remote.handle(ALLOWED, "/confirm").command_id is None  # too late
    assert "Nothing to confirm" in remote.handle(ALLOWED, "/confirm").text
    assert ops_store.pending_commands(conn) == []


def test_flatten_then_confirm_in_time_queues_the_kill_switch(setup):
    conn, clock, remote = setup
    remote.handle(ALLOWED, "/flatten")
    clock.now += timedelta(seconds=59)
    reply = remote.handle(ALLOWED, "/confirm")
    assert reply.command_id is not None
    pending = ops_store.pending_commands(conn)
    assert [(c.kind, c.payload) for c in pending] == [("flatten", {"halt": True})]


def test_another_command_between_flatten_and_confirm_disarms_it(setup):
    conn, _, remote = setup
    remote.handle(ALLOWED, "/flatten")
    remote.handle(ALLOWED, "/status")
    assert remote.handle(ALLOWED, "/confirm").command_id is None
    assert ops_store.pending_commands(conn) == []


def test_read_only_commands_answer_from_the_journal_and_are_logged_done(setup):
    conn, _, remote = setup
    bar = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)
    rows.trade(conn, "MES-a", bar, 5000.0, 5010.0, datetime.now(UTC))
    rows.trade(conn, "MES-b", bar, 5000.0, 4995.0, datetime.now(UTC))
    assert "No heartbeat yet" in remote.handle(ALLOWED, "/status").text
    assert remote.handle(ALLOWED, "/profit").text.startswith("All time: 2 trades · win rate 50%")
    assert remote.handle(ALLOWED, "/daily").text == "2025-03-03: +$22.52 in 2 trades"
    assert "5000.00 -> 5010.00 (target) +$48.76" in remote.handle(ALLOWED, "/trades").text
    unknown = remote.handle(ALLOWED, "/moon")
    assert unknown.text.startswith("Commands:")
    logged = [(c["kind"], c["status"]) for c in all_commands(conn)]
    assert logged == [("status", "done"), ("profit", "done"), ("daily", "done"),
                      ("trades", "done"), ("moon", "failed")]
    assert ops_store.pending_commands(conn) == []  # none of these reaches the bot

"""Which errors are journal faults, and the one line the bot prints for them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.runtime.faults import (
    EXIT_BAD_CONFIG,
    EXIT_JOURNAL_FAULT,
    EXIT_OK,
    JournalFault,
    is_journal_error,
    journal_guard,
)

DB = Path("/srv/trader/data/trader.db")


def test_exit_codes_are_distinct_and_documented_values():
    assert (EXIT_OK, EXIT_BAD_CONFIG, EXIT_JOURNAL_FAULT) == (0, 2, 3)


@pytest.mark.parametrize("exc, os_errors, expected", [
    (sqlite3.OperationalError("database or disk is full"), False, True),
    (sqlite3.OperationalError("database is locked"), False, True),
    (sqlite3.DatabaseError("database disk image is malformed"), False, True),
    (sqlite3.IntegrityError("UNIQUE constraint failed"), False, False),
    (sqlite3.ProgrammingError("Cannot operate on a closed database."), False, False),
    (OSError(28, "No space left on device"), False, False),
    (OSError(28, "No space left on device"), True, True),
    (ValueError("bad bar"), True, False),
])
def test_only_the_database_failing_is_a_journal_fault(exc, os_errors, expected):
    assert is_journal_error(exc, os_errors) is expected


def test_the_guard_names_the_path_and_the_cause_and_keeps_the_original():
    with pytest.raises(JournalFault) as caught, journal_guard(DB):
        raise sqlite3.OperationalError("database or disk is full")
    fault = caught.value
    assert (fault.path, fault.cause) == (DB, "database or disk is full")
    assert isinstance(fault.__cause__, sqlite3.OperationalError)


def test_the_guard_lets_bugs_through():
    with pytest.raises(sqlite3.IntegrityError), journal_guard(DB):
        raise sqlite3.IntegrityError("FOREIGN KEY constraint failed")
    with pytest.raises(OSError), journal_guard(DB):
        raise OSError(111, "Connection refused")


def test_the_fault_line_is_one_line_naming_path_cause_protection_and_code():
    fault = JournalFault(DB, "database or disk is full",
                         "the open position keeps its stop at the broker")
    assert fault.line() == (
        "error: journal write failed (database or disk is full) at /srv/trader/data/trader.db: "
        "stopping new entries; the open position keeps its stop at the broker; exit 3"
    )

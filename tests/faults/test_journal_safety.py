"""One writer per journal, a damaged or replaced journal, backups, stop signals, a frozen bot.

Real ``python -m bot`` processes (issue 19; DESIGN §4 rules 11 and 12). The drivers live in
``journal_safety.py`` so ``benchmarks/bench_faults.py`` prints the same scenarios' figures.
"""

from __future__ import annotations

import pytest

from tests.faults import journal_safety

pytestmark = [pytest.mark.integration, pytest.mark.faults]


def _clean(result):
    assert result.survived, result.problems
    assert (result.rows_lost, result.duplicate_orders, result.naked_positions) == (0, 0, 0)
    assert result.detail["wrong_pnl"] == 0


def test_two_bots_on_one_journal_one_runs_the_other_exits_2_naming_it_and_kill_9_frees_it(
    tmp_path
):
    result = journal_safety.two_bots_one_journal(tmp_path)
    _clean(result)
    refused, killed, restarted = result.exit_codes
    assert refused == 2 and killed == -9 and restarted == 0
    assert result.detail["refused_after_s"] <= journal_safety.REFUSE_LIMIT_S
    assert result.restart_to_first_decision_s is not None


def test_a_journal_with_damaged_pages_is_refused_with_exit_3_and_left_untouched(tmp_path):
    result = journal_safety.damaged_journal(tmp_path)
    assert result.survived, result.problems
    assert result.exit_codes == (3,)
    assert len(result.detail["pages"]) == 4


def test_a_schema_from_newer_code_is_refused_with_one_line_and_exit_2(tmp_path):
    result = journal_safety.newer_schema(tmp_path)
    _clean(result)
    assert result.exit_codes == (2,)


@pytest.mark.parametrize("how", ["deleted", "wal_deleted", "replaced"])
def test_the_database_deleted_or_replaced_while_running_exits_3_and_its_rescue_copy_resumes(
    tmp_path, how
):
    result = journal_safety.journal_file_gone(tmp_path, how)
    _clean(result)
    assert result.exit_codes == (3, 0)
    assert result.detail["decisions_rescued"] >= result.detail["decisions_seen"]


def test_backups_while_the_bot_runs_are_sound_prefixes_and_a_restore_equals_the_original(
    tmp_path
):
    result = journal_safety.backup_while_running(tmp_path)
    _clean(result)
    assert result.detail["copies"] == 2
    assert set(result.exit_codes) == {0}


@pytest.mark.parametrize("how", ["sighup", "sigint_storm"])
def test_sighup_and_a_storm_of_sigints_stop_cleanly_with_exit_0(tmp_path, how):
    result = journal_safety.stop_signal(tmp_path, how)
    _clean(result)
    assert result.exit_codes == (0,)
    if how == "sigint_storm":
        assert result.detail["signals_sent"] >= 2


def test_a_bot_frozen_by_sigstop_holds_entries_while_it_plays_the_backlog(tmp_path):
    result = journal_safety.frozen_then_backlog(tmp_path)
    _clean(result)
    assert result.detail["lag_s"] >= journal_safety.FROZEN_HOLD_S
    assert result.detail["held_bars"] >= 2

"""``python -m bot review --day``: a bad date names the format; a day still open warns."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.core.sessions import CmeSessionClock
from bot.learning.review_cli import open_session_warning
from tests.support import REPO_ROOT

END = datetime(2026, 12, 7, 22, 0, tzinfo=UTC)


def review(tmp_path, day: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "review", "--day", day, "--db", str(tmp_path / "t.db"),
         ],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.unit
def test_the_warning_names_a_day_still_open_and_nothing_after_its_end():
    line = open_session_warning(date(2026, 12, 7), END, END - timedelta(minutes=1))
    assert line is not None and "2026-12-07 is still open" in line and "22:00 UTC" in line
    assert open_session_warning(date(2026, 12, 7), END, END) is None


@pytest.mark.integration
def test_a_day_in_another_format_gets_one_line_naming_the_expected_one(tmp_path):
    done = review(tmp_path, "12/07/2026")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        "error: --day 12/07/2026: not a date; expected YYYY-MM-DD (e.g. 2026-12-07)")
    assert "Traceback" not in done.stderr + done.stdout


@pytest.mark.integration
def test_reviewing_the_session_still_open_warns(tmp_path):
    clock = CmeSessionClock()
    day, _ = clock.next_session_close(datetime.now(UTC))  # its session has not ended yet
    done = review(tmp_path, day.isoformat())
    assert f"warning: trading day {day} is still open" in done.stderr, done.stderr

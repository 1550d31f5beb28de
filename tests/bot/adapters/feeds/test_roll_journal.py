"""The roll journal file: written and read back exactly; a broken one named in one line."""

from __future__ import annotations

import pytest

from bot.adapters.feeds.roll_journal import cached_days, read_rolls, write_rolls
from shared.domain.continuous import RollSplice
from shared.domain.errors import DataFileError

pytestmark = pytest.mark.unit

ROLLS = [RollSplice(1_741_824_000 * 10**9, "MESH5", "MESM5", 5702.25, 5762.25),
         RollSplice(1_749_686_400 * 10**9, "MESM5", "MESU5", 6010.5, 6058.75)]


def test_rolls_round_trip_in_time_order(tmp_path):
    path = tmp_path / "1min-rolls.csv"
    write_rolls(path, list(reversed(ROLLS)))
    assert read_rolls(path) == ROLLS
    assert path.read_text().splitlines()[1].startswith(
        "2025-03-13T00:00:00+00:00,MESH5,MESM5,5702.25,5762.25,60.0,")
    assert read_rolls(tmp_path / "absent.csv") == []


@pytest.mark.parametrize(("text", "expected"), [
    ("at,from_symbol\n2025-03-13,MESH5\n", "not a roll journal"),
    ("at,from_symbol,to_symbol,old_close,new_close\nyesterday,H,M,1,2\n", "not a roll journal"),
    ("at,from_symbol,to_symbol,old_close,new_close\n2025-03-13,H,M,0,5762.25\n",
     "line 2: closes must be positive numbers"),
])
def test_a_broken_roll_journal_is_one_line_naming_the_file(tmp_path, text, expected):
    path = tmp_path / "1min-rolls.csv"
    path.write_text(text)
    with pytest.raises(DataFileError, match=expected) as caught:
        read_rolls(path)
    assert "\n" not in str(caught.value) and str(path) in str(caught.value)


def test_cached_days_pass_over_files_not_named_by_a_date(tmp_path):
    folder = tmp_path / "MES" / "1min"
    folder.mkdir(parents=True)
    for name in ("2025-03-14.parquet", "2025-03-12.parquet", "notes.parquet"):
        (folder / name).write_bytes(b"")
    assert [d.isoformat() for d in cached_days(tmp_path, "MES", "1min")] == [
        "2025-03-12", "2025-03-14"]

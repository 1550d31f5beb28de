"""The Parquet bar cache: a second load of the same file is read back, equal in every field."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from bot.adapters.feeds.replay import load_bars
from bot.backtest import bar_cache
from bot.backtest.bar_cache import cache_key, load_bars_cached
from bot.backtest.data import file_data

HEADER = "timestamp,open,high,low,close,volume"
ROWS = ["2024-01-02 14:30:00,4750.00,4751.25,4749.50,4751.00,120",
        "2024-01-02 14:31:00,4751.00,4752.00,4750.75,4751.75,95",
        "2024-01-02 14:31:00,4751.00,4752.00,4750.75,4751.75,96",
        "2024-01-02 14:32:00,4751.75,4751.75,4750.00,4750.25,143",
        "2024-01-02 14:33:00,junk,4751.75,4750.00,4750.25,143"]


@pytest.fixture
def bars_file(tmp_path: Path) -> Path:
    path = tmp_path / "bars.csv"
    path.write_text("\n".join([HEADER, *ROWS]) + "\n", encoding="utf-8")
    return path


def test_a_second_load_reads_the_cache_and_equals_the_first(bars_file, tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    first = load_bars_cached(bars_file, "UTC", folder)
    entries = list(folder.glob("*.parquet"))
    assert len(entries) == 1

    def parse_again(*args, **kwargs):
        raise AssertionError("the file was parsed again")

    monkeypatch.setattr(bar_cache, "load_bars", parse_again)
    second = load_bars_cached(bars_file, "UTC", folder)
    pd.testing.assert_frame_equal(second.bars, first.bars)
    assert (second.rows_read, second.malformed_skipped, second.duplicates_dropped) == (5, 1, 1)
    assert second.problems == first.problems
    assert any("bars.csv line 6" in problem for problem in second.problems)


def test_edited_content_another_timezone_or_name_is_a_new_entry(bars_file, tmp_path):
    folder = tmp_path / "cache"
    key = cache_key(bars_file, "UTC")
    assert cache_key(bars_file, "America/New_York") != key
    renamed = bars_file.with_name("other.csv")
    renamed.write_bytes(bars_file.read_bytes())
    assert cache_key(renamed, "UTC") != key  # problem messages name the file
    first = load_bars_cached(bars_file, "UTC", folder)
    bars_file.write_text("\n".join([HEADER, ROWS[0]]) + "\n", encoding="utf-8")
    assert cache_key(bars_file, "UTC") != key
    assert len(load_bars_cached(bars_file, "UTC", folder).bars) == 1 != len(first.bars)


def test_a_damaged_entry_is_ignored_and_rewritten(bars_file, tmp_path):
    folder = tmp_path / "cache"
    load_bars_cached(bars_file, "UTC", folder)
    entry = next(folder.glob("*.parquet"))
    entry.write_bytes(b"PAR1 half a file")
    again = load_bars_cached(bars_file, "UTC", folder)
    pd.testing.assert_frame_equal(again.bars, load_bars(bars_file).bars)
    assert entry.read_bytes()[:4] == b"PAR1" and entry.stat().st_size > 100


def test_an_unwritable_cache_costs_only_the_speed_up(bars_file, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    loaded = load_bars_cached(bars_file, "UTC", blocker / "cache")
    assert len(loaded.bars) == 3


def test_backtest_data_goes_through_the_cache_folder_of_the_environment(bars_file, tmp_path,
                                                                        monkeypatch):
    monkeypatch.setenv("TRADER_CACHE_DIR", str(tmp_path / "elsewhere"))
    first = file_data(bars_file, "UTC", None, 0.25)
    assert len(list((tmp_path / "elsewhere" / "bars").glob("*.parquet"))) == 1
    second = file_data(bars_file, "UTC", None, 0.25)
    assert (second.ts_ns == first.ts_ns).all() and (second.close == first.close).all()
    assert second.rows_skipped == first.rows_skipped == 2


def test_least_recently_used_entries_go_beyond_the_size_cap(bars_file, tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setattr(bar_cache, "MAX_CACHE_BYTES", 1)
    other = tmp_path / "other.csv"
    other.write_text("\n".join([HEADER, ROWS[0]]) + "\n", encoding="utf-8")
    load_bars_cached(bars_file, "UTC", folder)
    load_bars_cached(other, "UTC", folder)
    assert [p.name for p in folder.glob("*.parquet")] == [f"{cache_key(other, 'UTC')}.parquet"]



def test_an_unchanged_file_is_not_read_again_and_an_edit_of_the_same_size_is(bars_file, tmp_path,
                                                                              monkeypatch):
    folder = tmp_path / "cache"
    first = cache_key(bars_file, "UTC", folder)
    assert cache_key(bars_file, "UTC") == first  # the memo only saves the reading

    def unread(*args, **kwargs):
        raise AssertionError("the unchanged file was hashed again")

    with monkeypatch.context() as patch:
        patch.setattr(bar_cache.hashlib, "file_digest", unread)
        assert cache_key(bars_file, "UTC", folder) == first
    text = bars_file.read_text()
    bars_file.write_text(text.replace("4751.00,120", "4751.00,121"))  # same size, new content
    assert cache_key(bars_file, "UTC", folder) != first
    assert cache_key(bars_file, "UTC", folder) == cache_key(bars_file, "UTC")

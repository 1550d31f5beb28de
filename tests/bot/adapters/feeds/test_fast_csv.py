"""The columnar fast path answers exactly as the careful reader, or leaves the file to it.

Each case loads one file both ways (``load_bars`` with and without the fast path) and compares
the bars, the counts and the problems. Clean files must be taken by the fast path; files with
something to report (bad rows, duplicates, rows out of order, a DST gap) must be declined, so
their problems keep naming file and line.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bot.adapters.feeds import fast_csv, replay
from bot.adapters.feeds.fast_csv import read_clean_csv
from bot.adapters.feeds.replay import LoadedBars, load_bars
from shared.domain.errors import DataFileError

HEADER = "timestamp,open,high,low,close,volume"
ROWS = [
    "2024-01-02 14:30:00,4750.00,4751.25,4749.50,4751.00,120",
    "2024-01-02 14:31:00,4751.00,4752.00,4750.75,4751.75,95",
    "2024-01-02 14:32:00,4751.75,4751.75,4750.00,4750.25,143",
]
IB = ("Date/Time,Open,High,Low,Close,Volume,Count,WAP,HasGaps\n"
      "20160909  09:30:00,2157.25,2158,2155.5,2156,71545,7487,2156.6,0\n"
      "20160909  09:35:00,2156,2156.5,2154.5,2155,38523,4796,2155.375,0\n")
FALL_BACK = ("2023-11-05 01:30:00,4000,4001,3999,4000.5,10\n"
             "2023-11-05 01:45:00,4000,4001,3999,4000.5,10\n"
             "2023-11-05 01:30:00,4001,4002,4000,4001.5,11\n"
             "2023-11-05 01:45:00,4001,4002,4000,4001.5,11\n")

# name -> (file text, timezone, whether the fast path takes it)
CASES = {
    "header": ("\n".join([HEADER, *ROWS]) + "\n", "UTC", True),
    "crlf": ("\r\n".join([HEADER, *ROWS]) + "\r\n", "UTC", True),
    "no header": ("\n".join(ROWS), "UTC", True),
    "no header, crlf, no final newline": ("\r\n".join(ROWS), "UTC", True),
    "byte order mark": ("\ufeff" + "\n".join([HEADER, *ROWS]), "UTC", True),
    "byte order mark, no header": ("\ufeff" + "\n".join(ROWS), "UTC", True),
    "IB export in Eastern time": (IB, "US/Eastern", True),
    "ISO T and offsets": (HEADER + "\n2024-01-02T09:30:00-05:00,1,2,0.5,1.5,4\n"
                          "2024-01-02T14:31:00Z,1,2,0.5,1,4\n2024-01-02T15:32:00+0100,1,2,1,1,4\n",
                          "Asia/Tokyo", True),
    "naive in New York across DST": ("2023-03-10 10:00:00,4000,4001,3999,4000.5,10\n"
                                     "2023-03-13 10:00:00,4000,4001,3999,4000.5,10\n",
                                     "America/New_York", True),
    "fall-back hour twice": (FALL_BACK, "America/New_York", True),
    "date and time columns": ("Date,Time,Open,High,Low,Close,Volume\n"
                              "2024-01-02,14:30:00,10,11,9,10.5,3\n"
                              "2024-01-02,14:31,10,11,9,10.5,3\n", "UTC", True),
    "semicolons": ("\n".join([HEADER, *ROWS]).replace(",", ";"), "UTC", True),
    "tabs, extra columns, any case": ("Volume\tTS\tOpen\tHIGH\tlow\tClose\tnote\n" + "\n".join(
        "\t".join([r.split(",")[5], r.split(",")[0], *r.split(",")[1:5], "x"]) for r in ROWS),
        "UTC", True),
    "quoted cells and blank lines": ('"timestamp","open","high","low","close","volume"\n\n'
                                     + "\n\n".join(f'"{r.split(",")[0]}",' + ",".join(
                                         r.split(",")[1:]) for r in ROWS) + "\n\n",
                                     "UTC", True),
    "fractional seconds": (HEADER + "\n2024-01-02 14:30:00.250,1,2,0.5,1,4\n"
                           "2024-01-02 14:30:00.5,1,2,0.5,1,4\n", "UTC", True),
    "seconds-less times": (HEADER + "\n2024-01-02 14:30,1,2,0.5,1,4\n"
                           "2024-01-02 14:31,1,2,0.5,1,4\n", "UTC", True),
    # both readers end a line at a lone CR after the first line (the first line is sniffed)
    "lone CR after the first line": (f"{HEADER}\n{ROWS[0]}\r{ROWS[1]}\n{ROWS[2]}\n", "UTC",
                                     True),
    "CR CR LF": (f"{HEADER}\r\n{ROWS[0]}\r\r\n{ROWS[1]}\r\n{ROWS[2]}", "UTC", True),
    "a line of spaces": (f"{HEADER}\n{ROWS[0]}\n  \n{ROWS[1]}\n", "UTC", False),
    # Something to report: the careful reader loads these and names every problem.
    "duplicate timestamp": ("\n".join([HEADER, ROWS[0], ROWS[1], ROWS[1].replace(",95", ",9"),
                                       ROWS[2]]), "UTC", False),
    "rows out of order": ("\n".join([HEADER, ROWS[2], ROWS[0], ROWS[1]]), "UTC", False),
    "unparseable timestamp": ("\n".join([HEADER, ROWS[0], "not-a-date,1,2,0.5,1,4", ROWS[1]]),
                              "UTC", False),
    "text in a price": ("\n".join([HEADER, ROWS[0], "2024-01-02 14:33:00,abc,2,1,1,1"]),
                        "UTC", False),
    "empty price": ("\n".join([HEADER, ROWS[0], "2024-01-02 14:33:00,1,2,1,,1"]), "UTC", False),
    "NaN price": ("\n".join([HEADER, ROWS[0], "2024-01-02 14:33:00,1,NaN,1,1,1"]), "UTC", False),
    "high below low": ("\n".join([HEADER, ROWS[0], "2024-01-02 14:33:00,4750,4749,4751,4750,1"]),
                       "UTC", False),
    "negative volume": ("\n".join([HEADER, ROWS[0], "2024-01-02 14:33:00,1,2,1,1,-5"]), "UTC",
                        False),
    "zero price": ("\n".join([HEADER, ROWS[0], "2024-01-02 14:33:00,0,2,0,1,5"]), "UTC", False),
    "short row": ("\n".join([HEADER, ROWS[0], "2024-01-02 14:33:00,4750,4751", ROWS[1]]), "UTC",
                  False),
    "mixed offsets and naive": (HEADER + "\n2024-01-02T09:30:00-05:00,1,2,0.5,1.5,4\n"
                                "2024-01-02 14:31:00,1,2,0.5,1,4\n", "UTC", False),
    "local time in the DST gap": ("2023-03-12 01:59:00,4000,4001,3999,4000.5,10\n"
                                  "2023-03-12 02:30:00,4000,4001,3999,4000.5,10\n"
                                  "2023-03-12 03:00:00,4000,4001,3999,4000.5,10\n",
                                  "America/New_York", False),
    "blank first line": ("\n" + "\n".join([HEADER, *ROWS]), "UTC", False),
}


def write(tmp_path: Path, text: str, name: str = "bars.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


def assert_same(fast: LoadedBars, careful: LoadedBars) -> None:
    pd.testing.assert_frame_equal(fast.bars, careful.bars)
    assert (fast.rows_read, fast.malformed_skipped, fast.duplicates_dropped) == (
        careful.rows_read, careful.malformed_skipped, careful.duplicates_dropped)
    assert fast.problems == careful.problems
    assert (fast.out_of_order, fast.order_problems) == (careful.out_of_order,
                                                        careful.order_problems)


@pytest.mark.parametrize("name", list(CASES))
def test_the_fast_path_equals_the_careful_reader(tmp_path: Path, name: str) -> None:
    text, zone, taken = CASES[name]
    path = write(tmp_path, text)
    assert (read_clean_csv(path, zone) is not None) is taken
    assert_same(load_bars(path, zone), load_bars(path, zone, fast=False))


def test_declined_files_keep_their_line_numbers(tmp_path: Path) -> None:
    path = write(tmp_path, CASES["text in a price"][0])
    loaded = load_bars(path)
    assert loaded.malformed_skipped == 1
    assert "bars.csv line 3: open is not a number: 'abc'" in loaded.problems[0]


def test_files_the_careful_reader_refuses_are_refused_with_its_message(tmp_path: Path) -> None:
    for text, message in (("timestamp,open,low,close,volume\n2024-01-02 14:30:00,1,1,1,1\n",
                           "missing column"), (HEADER + "\n", "no data rows"), ("", "empty")):
        path = write(tmp_path, text)
        assert read_clean_csv(path, "UTC") is None
        with pytest.raises(DataFileError, match=message):
            load_bars(path)


@pytest.mark.parametrize("tail, message", [
    (b"\x00", r"bars\.csv line 2: binary data \(a NUL byte\)"),
    (b"\xff", r"bars\.csv line 2: not UTF-8 text \(byte 0xff\)"),
])
def test_bad_bytes_in_a_column_no_one_reads_are_refused_as_by_the_careful_reader(
    tmp_path: Path, tail: bytes, message: str
) -> None:
    """pyarrow skips unused columns unread: the fast path still leaves such a file to the
    careful reader, whose one-line DataFileError is the same with the fast path on or off."""
    path = tmp_path / "bars.csv"
    path.write_bytes(f"{HEADER},note\n".encode() + ROWS[0].encode() + b",x" + tail + b"\n")
    assert read_clean_csv(path, "UTC") is None
    for fast in (True, False):
        with pytest.raises(DataFileError, match=message):
            load_bars(path, fast=fast)


@pytest.mark.parametrize("row, message", [
    (b"2024-01-02 14:30:00,4750.00,4751.25,4749.50,4751.00,12\x000", r"line 2: binary data"),
    (b"2024-01-02 14:30:00,4750.00,4751.25,4749.50,4751.00,12\xff0", r"line 2: not UTF-8"),
    (b"2024-01-02 14:30:0\x00,4750.00,4751.25,4749.50,4751.00,120", r"line 2: binary data"),
    (b"2024-01-02 14:30:0\xff,4750.00,4751.25,4749.50,4751.00,120", r"line 2: not UTF-8"),
    (b"2024-01-02 14:30:0\xc3\xa9,4750.00,4751.25,4749.50,4751.00,120", None),
])
def test_bad_bytes_in_a_column_read_leave_the_file_to_the_careful_reader(
    tmp_path: Path, row: bytes, message: str | None
) -> None:
    """With every column read there is no whole-file byte scan: pyarrow's float parse, its
    UTF-8 check and the timestamp format check must each decline such a file."""
    path = tmp_path / "bars.csv"
    path.write_bytes(f"{HEADER}\n".encode() + row + b"\n" + "\n".join(ROWS[1:]).encode())
    assert read_clean_csv(path, "UTC") is None
    if message is None:  # valid UTF-8, not a timestamp: one malformed row, named
        assert_same(load_bars(path), load_bars(path, fast=False))
        assert load_bars(path).malformed_skipped == 1
        return
    for fast in (True, False):
        with pytest.raises(DataFileError, match=message):
            load_bars(path, fast=fast)


@pytest.mark.parametrize("stamps, taken", [
    (["2024-01-02 14:30:00", "2024-01-02 14:31:00", "2024-01-02 14:32:00"], True),
    ([" 2024-01-02 14:30:00 ", " 2024-01-02 14:31:00 ", " 2024-01-02 14:32:00 "], True),
    (["2024-01-02 14:30:00", "2024-01-02 14:31:00", "2024-01-02T14:32:00"], True),
    (["2024-01-02 14:30:00", "2024-01-02 14:31:00", "2024-01-02 14:32:0x"], False),
    (["2024-01-02 14:30:00", "2024-01-02 14:31:00", "2024-01-02 14:32:00Z"], False),
    (["2024-01-02 14:30:00", "2024-01-02 14:31:00", "2024-01-02 14:32:00 "], True),
    (["2024-01-02 14:30:00", "2024-01-02 14:31:00", "2024-01-02 14:99:00"], False),
    (["2024-01-02 14:30:00", "2024-01-02 14:31:00", "2024-01-32 14:32:00"], False),
    (["2024-01-02 14:30:00", "2024-01-02 14:31:00", "2024-01-02 14:32:00+0100"], False),
    (["2024-01-02T14:30:00Z", "2024-01-02T14:31:00Z", "2024-01-02T14:32:00Z"], True),
    (["2024-01-02T14:30:00Z", "2024-01-02T14:31:00Z", "2024-01-02T14:32:00+00:00"], True),
    (["20240102  14:30:00", "20240102  14:31:00", "20240102 \t14:32:00"], True),
    (["20240102  14:30:00", "20240102  14:31:00", "20240102  14:3:000"], False),
    (["\u0662024-01-02 14:30:00", "\u0662024-01-02 14:31:00", "\u0662024-01-02 14:32:00"],
     False),  # a digit to Python's re but not to pyarrow's RE2 or to pandas
])
def test_timestamps_of_one_shape_or_many_load_as_the_careful_reader_does(
    tmp_path: Path, stamps: list[str], taken: bool
) -> None:
    """Stamps shaped like the first one are checked as bytes, any other by the format; each
    way agrees with the careful reader, and a stamp that differs in shape is still checked."""
    rows = [f"{stamp},{row.split(',', 1)[1]}" for stamp, row in zip(stamps, ROWS, strict=True)]
    path = write(tmp_path, "\n".join([HEADER, *rows]) + "\n")
    assert (read_clean_csv(path, "America/New_York") is not None) is taken
    try:
        careful = load_bars(path, "America/New_York", fast=False)
    except DataFileError as exc:
        with pytest.raises(DataFileError, match=re.escape(str(exc))):
            load_bars(path, "America/New_York")
        return
    assert_same(load_bars(path, "America/New_York"), careful)


@pytest.mark.parametrize("bad_row", [None, 5, 47])
def test_a_file_read_in_many_blocks_is_checked_in_every_block(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bad_row: int | None
) -> None:
    """Small blocks split the file into many batches and a low row estimate makes the columns
    grow: a stamp of another shape (a bad one) in any batch is still found, and a clean file
    still equals the careful reader's frame."""
    monkeypatch.setattr(fast_csv, "_BLOCK_BYTES", 256)
    monkeypatch.setattr(fast_csv, "_row_estimate", lambda path: 3)
    stamps = pd.date_range("2024-01-02 14:30", periods=60, freq="min").strftime(
        "%Y-%m-%dT%H:%M:%S+00:00")
    rows = [f"{stamp},4750.00,4751.25,4749.50,4751.00,{i}" for i, stamp in enumerate(stamps)]
    if bad_row is not None:
        rows[bad_row] = rows[bad_row].replace("+00:00", "+00:0x", 1)
    path = write(tmp_path, "\n".join([HEADER, *rows]) + "\n")
    frame = read_clean_csv(path, "UTC")
    assert (frame is None) is (bad_row is not None)
    assert_same(load_bars(path), load_bars(path, fast=False))
    if frame is not None:
        assert len(frame) == 60


def test_both_paths_agree_on_the_column_names() -> None:
    assert fast_csv.BAR_COLUMNS == replay.BAR_COLUMNS
    assert fast_csv.TIMESTAMP_NAMES == replay._TIMESTAMP_NAMES
    assert fast_csv.KNOWN_NAMES == replay._KNOWN_NAMES


def _random_file(rng: np.random.Generator, rows: int) -> tuple[str, str]:
    """A seeded random bar file: layout, line ends, formats and zones vary; some rows go bad."""
    start = pd.Timestamp("2023-11-04 22:00") + pd.Timedelta(minutes=int(rng.integers(0, 600)))
    stamps = start + pd.to_timedelta(np.arange(rows) * int(rng.choice([1, 5, 60])), unit="min")
    style = rng.choice(["iso", "iso_t", "aware", "ib"])
    zone = str(rng.choice(["UTC", "America/New_York", "Europe/London"]))
    close = 4000 + np.cumsum(rng.integers(-4, 5, rows)) * 0.25
    lines = []
    for i, stamp in enumerate(stamps):
        text = {"iso": stamp.strftime("%Y-%m-%d %H:%M:%S"),
                "iso_t": stamp.strftime("%Y-%m-%dT%H:%M"),
                "aware": stamp.strftime("%Y-%m-%dT%H:%M:%S") + "+00:00",
                "ib": stamp.strftime("%Y%m%d  %H:%M:%S")}[style]
        low, high = close[i] - 0.25 * rng.integers(0, 4), close[i] + 0.25 * rng.integers(0, 4)
        lines.append(f"{text},{close[i]},{high},{low},{close[i]},{int(rng.integers(0, 900))}")
    if rng.random() < 0.4:  # something to report
        at = int(rng.integers(0, rows))
        lines[at] = rng.choice([lines[max(0, at - 1)], "junk,1,2,3,4,5", lines[at] + ",7"])
    header = [] if rng.random() < 0.3 else [rng.choice([HEADER, HEADER.upper()])]
    newline = str(rng.choice(["\n", "\r\n"]))
    return newline.join([*header, *lines]) + (newline if rng.random() < 0.5 else ""), zone


def test_seeded_random_files_load_the_same_both_ways(tmp_path: Path) -> None:
    rng = np.random.default_rng(12)
    taken = 0
    for number in range(60):
        text, zone = _random_file(rng, int(rng.integers(2, 80)))
        path = write(tmp_path, text, f"random{number}.csv")
        taken += read_clean_csv(path, zone) is not None
        try:
            careful = load_bars(path, zone, fast=False)
        except DataFileError as exc:
            with pytest.raises(DataFileError, match=re.escape(str(exc))):
                load_bars(path, zone)
            continue
        assert_same(load_bars(path, zone), careful)
    assert taken >= 20  # the clean majority went through the fast path


@pytest.mark.parametrize("name, zone", [
    ("ES_1min_2025-08-31_2025-11-03_utc.csv", "UTC"),
    ("ES_1min_frd_sample_2023-03-08_2023-03-23_et.csv", "America/New_York"),
    ("ES_5min_ib_rth_2016-09-09_2017-11-09_et.csv", "America/New_York"),
])
def test_real_es_files_load_the_same_both_ways(shared_data: Path, name: str, zone: str) -> None:
    path = shared_data / name
    assert_same(load_bars(path, zone), load_bars(path, zone, fast=False))

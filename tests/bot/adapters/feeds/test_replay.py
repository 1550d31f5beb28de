"""Loading bar files: layouts, line endings, timezones, duplicates and malformed rows."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from bot.adapters.feeds.replay import LoadedBars, iter_bar_objects, load_bars
from shared.domain.errors import BadBarError, ConfigError, DataFileError

HEADER = "timestamp,open,high,low,close,volume"
GOOD_ROWS = [
    "2024-01-02 14:30:00,4750.00,4751.25,4749.50,4751.00,120",
    "2024-01-02 14:31:00,4751.00,4752.00,4750.75,4751.75,95",
    "2024-01-02 14:32:00,4751.75,4751.75,4750.00,4750.25,143",
]


def write(tmp_path: Path, text: str, name: str = "bars.csv", newline: str = "\n") -> Path:
    path = tmp_path / name
    path.write_bytes(text.replace("\n", newline).encode("utf-8"))
    return path


def utc(*args: int) -> pd.Timestamp:
    return pd.Timestamp(datetime(*args, tzinfo=UTC))


def assert_clean(loaded: LoadedBars) -> None:
    bars = loaded.bars
    assert isinstance(bars.index, pd.DatetimeIndex)
    assert str(bars.index.tz) == "UTC"
    assert bars.index.name == "ts"
    assert bars.index.is_monotonic_increasing and bars.index.is_unique
    assert list(bars.columns) == ["open", "high", "low", "close", "volume"]
    assert all(str(dtype) == "float64" for dtype in bars.dtypes)
    assert not bars.isna().any().any()
    total = len(bars) + loaded.malformed_skipped + loaded.duplicates_dropped
    assert loaded.rows_read == total


def test_csv_with_header_loads_utc_bars(tmp_path: Path) -> None:
    loaded = load_bars(write(tmp_path, "\n".join([HEADER, *GOOD_ROWS]) + "\n"))
    assert_clean(loaded)
    assert (loaded.rows_read, loaded.malformed_skipped, loaded.duplicates_dropped) == (3, 0, 0)
    assert loaded.problems == ()
    assert loaded.bars.index[0] == utc(2024, 1, 2, 14, 30)
    assert loaded.bars.iloc[0].tolist() == [4750.0, 4751.25, 4749.5, 4751.0, 120.0]


def test_csv_without_header_is_read_by_position(tmp_path: Path) -> None:
    loaded = load_bars(write(tmp_path, "\n".join(GOOD_ROWS)))
    assert_clean(loaded)
    assert len(loaded.bars) == 3
    assert loaded.bars["volume"].tolist() == [120.0, 95.0, 143.0]


def test_crlf_line_endings_load_like_lf(tmp_path: Path) -> None:
    text = "\n".join([HEADER, *GOOD_ROWS]) + "\n"
    crlf = load_bars(write(tmp_path, text, "crlf.csv", newline="\r\n"))
    lf = load_bars(write(tmp_path, text, "lf.csv"))
    assert_clean(crlf)
    pd.testing.assert_frame_equal(crlf.bars, lf.bars)


def test_header_names_are_case_insensitive_and_extra_columns_ignored(tmp_path: Path) -> None:
    text = "Timestamp,OPEN,High,low,Close,Volume,Count\n" + "\n".join(
        row + ",7" for row in GOOD_ROWS
    )
    loaded = load_bars(write(tmp_path, text))
    assert_clean(loaded)
    assert len(loaded.bars) == 3


def test_ib_export_format_in_eastern_time_converts_to_utc(tmp_path: Path) -> None:
    text = (
        "Date/Time,Open,High,Low,Close,Volume,Count,WAP,HasGaps\n"
        "20160909  09:30:00,2157.25,2158,2155.5,2156,71545,7487,2156.6,0\n"
        "20160909  09:35:00,2156,2156.5,2154.5,2155,38523,4796,2155.375,0\n"
    )
    loaded = load_bars(write(tmp_path, text), timezone="US/Eastern")
    assert_clean(loaded)
    assert loaded.bars.index.tolist() == [utc(2016, 9, 9, 13, 30), utc(2016, 9, 9, 13, 35)]
    assert loaded.bars["close"].tolist() == [2156.0, 2155.0]


def test_separate_date_and_time_columns_are_combined(tmp_path: Path) -> None:
    text = "Date,Time,Open,High,Low,Close,Volume\n2024-01-02,14:30:00,10,11,9,10.5,3\n"
    loaded = load_bars(write(tmp_path, text))
    assert loaded.bars.index.tolist() == [utc(2024, 1, 2, 14, 30)]


def test_semicolon_delimited_file_loads(tmp_path: Path) -> None:
    text = "\n".join([HEADER, *GOOD_ROWS]).replace(",", ";")
    assert len(load_bars(write(tmp_path, text)).bars) == 3


def test_naive_eastern_times_convert_to_utc_on_both_sides_of_dst(tmp_path: Path) -> None:
    text = (
        "2023-03-10 10:00:00,4000,4001,3999,4000.5,10\n"  # EST, UTC-5
        "2023-03-13 10:00:00,4000,4001,3999,4000.5,10\n"  # EDT, UTC-4
    )
    loaded = load_bars(write(tmp_path, text), timezone="America/New_York")
    assert loaded.bars.index.tolist() == [utc(2023, 3, 10, 15), utc(2023, 3, 13, 14)]


def test_nonexistent_local_time_is_skipped_and_named(tmp_path: Path) -> None:
    text = (
        "2023-03-12 01:59:00,4000,4001,3999,4000.5,10\n"
        "2023-03-12 02:30:00,4000,4001,3999,4000.5,10\n"  # inside the spring-forward gap
        "2023-03-12 03:00:00,4000,4001,3999,4000.5,10\n"
    )
    loaded = load_bars(write(tmp_path, text), timezone="America/New_York")
    assert loaded.malformed_skipped == 1
    assert loaded.bars.index.tolist() == [utc(2023, 3, 12, 6, 59), utc(2023, 3, 12, 7, 0)]
    assert "line 2" in loaded.problems[0] and "does not exist" in loaded.problems[0]


def test_ambiguous_local_time_is_daylight_first_then_standard(tmp_path: Path) -> None:
    text = (
        "2023-11-05 01:30:00,4000,4001,3999,4000.5,10\n"  # first 01:30: EDT
        "2023-11-05 01:30:00,4001,4002,4000,4001.5,11\n"  # second 01:30: EST
    )
    loaded = load_bars(write(tmp_path, text), timezone="America/New_York")
    assert loaded.duplicates_dropped == 0
    assert loaded.bars.index.tolist() == [utc(2023, 11, 5, 5, 30), utc(2023, 11, 5, 6, 30)]


def test_timestamps_with_offsets_ignore_the_timezone_argument(tmp_path: Path) -> None:
    text = HEADER + "\n2024-01-02T09:30:00-05:00,1,2,0.5,1.5,4\n2024-01-02T14:31:00Z,1,2,0.5,1,4\n"
    loaded = load_bars(write(tmp_path, text), timezone="Asia/Tokyo")
    assert loaded.bars.index.tolist() == [utc(2024, 1, 2, 14, 30), utc(2024, 1, 2, 14, 31)]


def test_duplicates_are_dropped_keeping_the_first_and_output_is_sorted(tmp_path: Path) -> None:
    repeated = GOOD_ROWS[1].replace(",95", ",999")  # same timestamp, different volume
    text = "\n".join([HEADER, GOOD_ROWS[2], GOOD_ROWS[0], GOOD_ROWS[1], repeated, GOOD_ROWS[0]])
    loaded = load_bars(write(tmp_path, text))
    assert_clean(loaded)
    assert loaded.duplicates_dropped == 2
    assert loaded.bars["volume"].tolist() == [120.0, 95.0, 143.0]
    assert any("line 5" in problem and "duplicate" in problem for problem in loaded.problems)


@pytest.mark.parametrize(
    ("bad_row", "expected"),
    [
        ("not-a-date,4750,4751,4749,4750,10", "unparseable timestamp 'not-a-date'"),
        ("2024-01-02 14:33:00,abc,4751,4749,4750,10", "open is not a number: 'abc'"),
        ("2024-01-02 14:33:00,4750,NaN,4749,4750,10", "high is not a number"),
        ("2024-01-02 14:33:00,4750,4751,4749,,10", "close is not a number"),
        ("2024-01-02 14:33:00,4750,4749,4751,4750,10", "high 4749.0 below low 4751.0"),
        ("2024-01-02 14:33:00,4752,4751,4749,4750,10", "open 4752.0 outside"),
        ("2024-01-02 14:33:00,4750,4751,4749,4748,10", "close 4748.0 outside"),
        ("2024-01-02 14:33:00,4750,4751,4749,4750,-5", "negative volume"),
        ("2024-01-02 14:33:00,0,4751,0,4750,5", "price 0.0 is not positive"),
        ("2024-01-02 14:33:00,4750,4751", "expected 6 fields, found 3"),
    ],
)
def test_malformed_row_is_skipped_counted_and_named(
    tmp_path: Path, bad_row: str, expected: str
) -> None:
    text = "\n".join([HEADER, GOOD_ROWS[0], bad_row, GOOD_ROWS[1], GOOD_ROWS[2]])
    loaded = load_bars(write(tmp_path, text))
    assert_clean(loaded)
    assert (loaded.rows_read, loaded.malformed_skipped, len(loaded.bars)) == (4, 1, 3)
    assert len(loaded.problems) == 1
    assert "bars.csv line 3" in loaded.problems[0]
    assert expected in loaded.problems[0]


def test_many_malformed_rows_give_a_short_list_of_examples(tmp_path: Path) -> None:
    bad = [f"2024-01-02 15:{minute:02d}:00,1,2,3,1,1" for minute in range(30)]  # high < low
    loaded = load_bars(write(tmp_path, "\n".join([HEADER, *GOOD_ROWS, *bad])))
    assert loaded.malformed_skipped == 30
    assert len(loaded.problems) <= 10
    assert "line 5" in loaded.problems[0]
    assert "more malformed rows" in loaded.problems[-1]


def test_blank_lines_are_ignored_and_line_numbers_stay_true(tmp_path: Path) -> None:
    text = "\n".join([HEADER, "", GOOD_ROWS[0], "", "garbage,1,2,3,4,5", GOOD_ROWS[1], ""])
    loaded = load_bars(write(tmp_path, text))
    assert (loaded.rows_read, loaded.malformed_skipped) == (3, 1)
    assert "line 5" in loaded.problems[0]


def test_missing_column_raises_bad_bar_error_naming_file_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "timestamp,open,low,close,volume\n2024-01-02 14:30:00,1,1,1,1\n")
    with pytest.raises(BadBarError, match=r"bars\.csv: missing column\(s\) high"):
        load_bars(path)


def test_missing_timestamp_column_raises_bad_bar_error(tmp_path: Path) -> None:
    path = write(tmp_path, "when,open,high,low,close,volume\nmonday,1,1,1,1,1\n")
    with pytest.raises(BadBarError, match="missing column.*timestamp"):
        load_bars(path)


def test_file_without_usable_rows_raises_bad_bar_error(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "\nnonsense,1,2,3,4,5\n2024-01-02 14:30:00,5,4,6,5,1\n")
    with pytest.raises(BadBarError, match=r"bars\.csv: no usable rows \(2 read, 2 malformed"):
        load_bars(path)


def test_empty_file_raises_bad_bar_error(tmp_path: Path) -> None:
    with pytest.raises(BadBarError, match="empty"):
        load_bars(write(tmp_path, ""))


def test_header_only_file_raises_bad_bar_error(tmp_path: Path) -> None:
    with pytest.raises(BadBarError, match=r"bars\.csv: no data rows"):
        load_bars(write(tmp_path, HEADER + "\n"))


def test_unknown_timezone_raises_config_error(tmp_path: Path) -> None:
    path = write(tmp_path, "\n".join([HEADER, *GOOD_ROWS]))
    with pytest.raises(ConfigError, match="Mars/Olympus"):
        load_bars(path, timezone="Mars/Olympus")


def test_parquet_round_trip_gives_the_same_frame(tmp_path: Path) -> None:
    original = load_bars(write(tmp_path, "\n".join([HEADER, *GOOD_ROWS])))
    parquet_path = tmp_path / "bars.parquet"
    original.bars.to_parquet(parquet_path)
    again = load_bars(parquet_path)
    assert_clean(again)
    pd.testing.assert_frame_equal(again.bars, original.bars, check_index_type=False)


def test_parquet_with_naive_timestamp_column_uses_the_timezone(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "Datetime": pd.to_datetime(
                ["2023-03-10 09:30", "2023-03-13 09:30", "2023-03-13 09:31"]
            ),
            "Open": [1.0, 2.0, 2.0],
            "High": [1.5, 2.5, 1.0],
            "Low": [0.5, 1.5, 1.5],
            "Close": [1.0, 2.0, 2.0],
            "Volume": [5, 6, 7],
        }
    )
    path = tmp_path / "naive.parquet"
    frame.to_parquet(path)
    loaded = load_bars(path, timezone="America/New_York")
    assert loaded.bars.index.tolist() == [utc(2023, 3, 10, 14, 30), utc(2023, 3, 13, 13, 30)]
    assert loaded.malformed_skipped == 1
    assert "naive.parquet row 3" in loaded.problems[0]


def test_iter_bar_objects_yields_utc_bars_matching_the_frame(tmp_path: Path) -> None:
    loaded = load_bars(write(tmp_path, "\n".join([HEADER, *GOOD_ROWS])))
    bars = list(iter_bar_objects(loaded.bars))
    assert [bar.ts for bar in bars] == [ts.to_pydatetime() for ts in loaded.bars.index]
    assert all(
        bar.ts.utcoffset() is not None and bar.ts.utcoffset().total_seconds() == 0 for bar in bars
    )
    assert (bars[0].open, bars[0].high, bars[0].low, bars[0].close) == (4750, 4751.25, 4749.5, 4751)
    assert bars[2].volume == 143.0


def test_iter_bar_objects_rejects_a_frame_without_a_tz_aware_index() -> None:
    frame = pd.DataFrame(
        {"open": [1.0], "high": [1.0], "low": [1.0], "close": [1.0], "volume": [1]}
    )
    with pytest.raises(ValueError, match="tz-aware"):
        list(iter_bar_objects(frame))


def test_rows_out_of_order_are_counted_named_by_line_and_sorted(tmp_path: Path) -> None:
    text = "\n".join([HEADER, GOOD_ROWS[2], GOOD_ROWS[0], GOOD_ROWS[1]])
    loaded = load_bars(write(tmp_path, text))
    assert_clean(loaded)
    # One row (14:32, first) is out of place, not the two after it.
    assert (loaded.out_of_order, loaded.duplicates_dropped) == (1, 0)
    assert loaded.bars.index.tolist() == [utc(2024, 1, 2, 14, 30 + m) for m in range(3)]
    assert loaded.order_problems == (
        "bars.csv line 2: timestamp 2024-01-02 14:32:00+00:00 is out of order "
        "(later than 2024-01-02 14:30:00+00:00 below it)",
    )
    assert loaded.problems == ()  # out of order is reported apart from skipped rows


def test_a_row_late_is_named_as_late(tmp_path: Path) -> None:
    text = "\n".join([HEADER, GOOD_ROWS[1], GOOD_ROWS[2], GOOD_ROWS[0], GOOD_ROWS[0]])
    loaded = load_bars(write(tmp_path, text))
    assert (loaded.out_of_order, loaded.duplicates_dropped) == (1, 1)
    assert loaded.order_problems == (
        "bars.csv line 4: timestamp 2024-01-02 14:30:00+00:00 is out of order "
        "(earlier than 2024-01-02 14:32:00+00:00 above it)",
    )


def test_one_row_dated_2099_is_one_row_out_of_order_named_with_its_date(tmp_path: Path) -> None:
    """Issue 19: one bad date in 2,500 rows was reported as "2499 out of order"."""
    rows = [f"2024-01-02 {14 + m // 60:02d}:{m % 60:02d}:00,4750,4751,4749,4750,10"
            for m in range(2500 // 2)]
    rows += [f"2024-01-03 {14 + m // 60:02d}:{m % 60:02d}:00,4750,4751,4749,4750,10"
             for m in range(2500 // 2)]
    rows[0] = "2099-01-02 14:00:00,4750,4751,4749,4750,10"
    loaded = load_bars(write(tmp_path, "\n".join([HEADER, *rows])))
    assert loaded.out_of_order == 1
    assert loaded.order_problems == (
        "bars.csv line 2: timestamp 2099-01-02 14:00:00+00:00 is out of order "
        "(later than 2024-01-02 14:01:00+00:00 below it)",
    )


def test_an_ordered_file_reports_nothing_out_of_order(tmp_path: Path) -> None:
    loaded = load_bars(write(tmp_path, "\n".join([HEADER, *GOOD_ROWS, GOOD_ROWS[1]])))
    assert (loaded.out_of_order, loaded.order_problems) == (0, ())  # a repeat is a duplicate
    assert loaded.duplicates_dropped == 1


def test_binary_file_is_a_data_file_error_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "bars.csv"
    path.write_bytes((HEADER + "\n" + GOOD_ROWS[0] + "\n").encode() + b"PAR1\x00\x15\x04")
    with pytest.raises(DataFileError) as caught:
        load_bars(path)
    assert str(caught.value) == f"{path} line 3: binary data (a NUL byte), not CSV text"
    assert (caught.value.path, caught.value.line) == (str(path), 3)


def test_non_utf8_text_is_a_data_file_error_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "bars.csv"
    path.write_bytes("\n".join([HEADER, GOOD_ROWS[0], GOOD_ROWS[1] + " caf\xe9"]).encode("cp1252"))
    with pytest.raises(DataFileError, match=r"bars\.csv line 3: not UTF-8 text \(byte 0xe9\)"):
        load_bars(path)


def test_a_utf8_byte_order_mark_is_still_fine(tmp_path: Path) -> None:
    path = tmp_path / "bars.csv"
    path.write_bytes(b"\xef\xbb\xbf" + "\n".join([HEADER, *GOOD_ROWS]).encode())
    assert len(load_bars(path).bars) == 3


@pytest.mark.parametrize(("make", "reason"), [
    (lambda p: None, "the file does not exist"),
    (lambda p: p.mkdir(), "not a file"),
    (lambda p: p.write_bytes(b"PAR1 this is not parquet"), "not a readable Parquet file"),
])
def test_unusable_files_are_data_file_errors(tmp_path: Path, make, reason) -> None:
    path = tmp_path / "bars.parquet"
    make(path)
    with pytest.raises(DataFileError, match=reason):
        load_bars(path)


def test_a_data_file_error_is_one_printable_line_whatever_the_file_held(tmp_path: Path) -> None:
    names = ",".join(f'"col\r\n{i}\x07"' for i in range(30))
    path = write(tmp_path, names + "\n1,2,3\n")
    with pytest.raises(DataFileError) as caught:
        load_bars(path)
    message = str(caught.value)
    assert message.isprintable() and "missing column(s)" in message
    assert "found 30 column(s), none recognised" in message and "\\x07" not in message


@pytest.mark.parametrize("text", [
    "root:$6$SECRETHASH:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n",  # /etc/shadow
    "AWS_SECRET_ACCESS_KEY=SECRETHASH\nREGION=x\n",  # a secrets file
    "api_key,SECRETHASH,b,c,d,e\n1,2,3,4,5,6\n",  # a header that is not ours
    "timestamp,open,high,low,close,volume\nSECRETHASH,1,2,0.5,1,4\n",  # cells that are not bars
    "timestamp,open,high,low,close,volume\n2024-01-02 14:30:00,SECRETHASH,2,0.5,1,4\n",
])
def test_refusing_a_file_never_echoes_what_it_holds(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(DataFileError) as caught:
        load_bars(path)
    message = str(caught.value)
    assert "SECRETHASH" not in message
    assert message.startswith(f"{path}") and ("missing column" in message
                                               or "no usable rows" in message)

"""The headline CSV: good rows with and without scores; every bad row names file and line."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.adapters.news.headline_csv import read_headlines
from shared.domain.errors import BadNewsFileError

pytestmark = pytest.mark.unit


def write(tmp_path, text: str):
    path = tmp_path / "news.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_rows_keep_their_time_source_and_optional_score(tmp_path):
    path = write(tmp_path, "time,headline,source,score\n"
                           "2025-03-03T14:35:00Z,Stocks rally,wire,0.5\n"
                           "2025-03-03 09:40:00,Bonds slip,,\n")
    first, second = read_headlines(path, tz="America/New_York")
    assert first.headline.received_at == datetime(2025, 3, 3, 14, 35, tzinfo=UTC)
    assert (first.headline.source, first.headline.text, first.score) == ("wire", "Stocks rally",
                                                                        0.5)
    assert second.headline.received_at.astimezone(UTC) == datetime(2025, 3, 3, 14, 40,
                                                                    tzinfo=UTC)
    assert (second.headline.source, second.score, second.line) == ("csv", None, 3)


@pytest.mark.parametrize(("text", "problem"), [
    ("when,headline\n2025-03-03T14:35:00Z,x\n", "line 1: missing column(s) time"),
    ("time,headline,mood\n2025-03-03T14:35:00Z,x,up\n", "line 1: unknown column(s) mood"),
    ("time,headline\n2025-03-03T14:35:00Z,ok\nyesterday,x\n", "line 3: time 'yesterday'"),
    ("time,headline\n2025-03-03T14:35:00Z,  \n", "line 2: empty headline"),
    ("time,headline,score\n2025-03-03T14:35:00Z,x,1.5\n", "line 2: score '1.5' is not"),
    ("time,headline,score\n2025-03-03T14:35:00Z,x,high\n", "line 2: score 'high' is not"),
    ("time,headline\n2025-03-03T14:35:00Z,x,extra\n", "line 2: more fields than columns"),
])
def test_a_bad_row_refuses_the_file_naming_file_and_line(tmp_path, text, problem):
    path = write(tmp_path, text)
    with pytest.raises(BadNewsFileError) as error:
        read_headlines(path)
    assert str(error.value).startswith(str(path)) and problem in str(error.value)


def test_a_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(BadNewsFileError, match="cannot read"):
        read_headlines(tmp_path / "nope.csv")

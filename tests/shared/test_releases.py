"""The economic-release calendar: the shipped file parses, times are Eastern converted to UTC,
and a malformed line is refused with its line number."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.calendars.releases import SHIPPED_RELEASES, load_releases, parse_releases
from shared.domain.errors import ConfigError

HEADER = "# comment\ndate,time_et,event,status\n"


def test_the_shipped_file_covers_2025_to_2027_with_each_kind():
    releases = load_releases(SHIPPED_RELEASES, ("CPI", "NFP", "FOMC"))
    years = {(r.at.year, r.event) for r in releases}
    assert {(y, e) for y in (2025, 2026, 2027) for e in ("CPI", "NFP", "FOMC")} <= years
    assert [r.at for r in releases] == sorted(r.at for r in releases)
    # Aug 2025 CPI: Thursday Sep 11 2025 08:30 EDT; FOMC Dec 10 2025 14:00 EST
    assert datetime(2025, 9, 11, 12, 30, tzinfo=UTC) in {r.at for r in releases
                                                         if r.event == "CPI"}
    assert datetime(2025, 12, 10, 19, 0, tzinfo=UTC) in {r.at for r in releases
                                                         if r.event == "FOMC"}
    assert all(r.at.weekday() < 5 for r in releases)
    assert {r.at.astimezone(UTC).minute for r in releases} == {0, 30}


def test_only_the_kinds_asked_for_are_kept_and_unknown_kinds_are_refused():
    text = HEADER + "2025-09-11,08:30,CPI,published\n2025-09-17,14:00,fomc,\n"
    assert [r.event for r in parse_releases(text, "f")] == ["CPI", "FOMC"]
    with pytest.raises(ConfigError, match="PPI: not in releases file"):
        load_releases(SHIPPED_RELEASES, ("PPI",))


@pytest.mark.parametrize(("line", "message"), [
    ("2025-13-01,08:30,CPI,published", "line 3: date '2025-13-01' is not YYYY-MM-DD"),
    ("2025-09-11,8h30,CPI,published", "line 3: time_et '8h30' is not HH:MM"),
    ("2025-09-11,08:30,,published", "line 3: the event name is empty"),
    ("2025-09-11,08:30", "line 3: want date,time_et,event,status"),
    ("2025-09-11,08:30,CPI,published,extra", "line 3: want"),
])
def test_a_malformed_line_is_refused_naming_the_line(line, message):
    with pytest.raises(ConfigError, match=message):
        parse_releases(HEADER + line + "\n", "releases file x.csv")


def test_a_file_without_its_header_or_missing_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="line 1: want the header"):
        parse_releases("2025-09-11,08:30,CPI\n", "f")
    with pytest.raises(ConfigError, match="does not exist"):
        load_releases(tmp_path / "none.csv", ("CPI",))

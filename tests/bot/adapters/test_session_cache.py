"""The session clock's disk cache: a cached clock answers exactly as a computed one, and a
missing, stale or damaged entry is recomputed, never trusted."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bot.adapters import session_cache
from bot.adapters.session_cache import cached_session_clock
from bot.core import sessions
from bot.core.sessions import CmeSessionClock, calendar_range, compute_session_columns

ROOT = Path(__file__).resolve().parents[3]
# A long span: many holidays, NYSE half-days, DST changes, and years both sides of 2020.
LONG = (date(2015, 1, 2), date(2026, 12, 31))
# Months checked minute by minute: DST starts (Mar 2025), Good Friday (Apr 2025), DST ends,
# Thanksgiving and its half-day (Nov 2025), Christmas Eve and New Year (Dec 2025 - Jan 2026).
MINUTE_SPANS = ((datetime(2025, 3, 1, tzinfo=UTC), datetime(2025, 3, 15, tzinfo=UTC)),
                (datetime(2025, 4, 15, tzinfo=UTC), datetime(2025, 4, 22, tzinfo=UTC)),
                (datetime(2025, 10, 30, tzinfo=UTC), datetime(2025, 12, 1, tzinfo=UTC)),
                (datetime(2025, 12, 22, tzinfo=UTC), datetime(2026, 1, 6, tzinfo=UTC)))
FIELDS = ("_labels", "_opens", "_halts", "_ends", "_break_ends", "_bucket_edges", "_rth_opens",
          "_rth_ends", "_cash_session")


@pytest.fixture
def cache_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(session_cache.CACHE_ENV, str(tmp_path))
    return tmp_path


@pytest.fixture(scope="module")
def computed() -> dict[str, np.ndarray]:
    return compute_session_columns(*LONG)


def no_compute(first: date, last: date) -> dict[str, np.ndarray]:
    raise AssertionError(f"computed {first}..{last} although the cache holds it")


def answers(clock: CmeSessionClock, ts: datetime) -> tuple[object, ...]:
    return (clock.is_open(ts), clock.in_maintenance_break(ts), clock.minutes_to_close(ts),
            clock.trading_day(ts), clock.is_rth(ts), clock.time_bucket(ts), clock.phase(ts))


def test_a_cached_clock_answers_every_minute_as_the_computed_one(
    cache_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh = cached_session_clock(*LONG)  # a miss: computed, then stored
    assert session_cache.entry_path(*LONG).exists()
    monkeypatch.setattr(sessions, "compute_session_columns", no_compute)
    cached = cached_session_clock(*LONG)
    for field in FIELDS:
        assert getattr(cached, field) == getattr(fresh, field), field
    assert len(cached._labels) > 3000
    minutes = 0
    for first, last in MINUTE_SPANS:
        ts = first
        while ts < last:
            assert answers(cached, ts) == answers(fresh, ts), ts
            ts += timedelta(minutes=1)
            minutes += 1
    epochs = np.arange(LONG[0].toordinal(), LONG[1].toordinal(), dtype=float)
    epochs = (epochs - date(1970, 1, 1).toordinal()) * 86400.0 + 14.5 * 3600.0
    assert np.array_equal(cached.rth_flags(epochs), fresh.rth_flags(epochs))
    assert minutes > 60_000


def test_the_cache_stores_exactly_the_computed_columns(
    cache_root: Path, computed: dict[str, np.ndarray]
) -> None:
    stored = session_cache.load_or_compute(*LONG, lambda first, last: computed)
    loaded = session_cache.load_or_compute(*LONG, no_compute)
    for name in session_cache.COLUMNS:
        assert loaded[name].dtype == computed[name].dtype, name
        assert np.array_equal(loaded[name], computed[name]), name
        assert np.array_equal(stored[name], computed[name]), name


def damage_truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def damage_flip_bytes(path: Path) -> None:
    data = bytearray(path.read_bytes())
    for offset in range(len(data) // 3, len(data) // 3 + 64):
        data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def damage_one_value_keeping_the_digest(path: Path) -> None:
    """A well-formed file whose arrays no longer match their digest: one halt moved an hour."""
    with np.load(path, allow_pickle=False) as stored:
        arrays = {name: stored[name] for name in stored.files}
    arrays["halt"] = arrays["halt"].copy()
    arrays["halt"][len(arrays["halt"]) // 2] += 3600.0
    with path.open("wb") as out:
        np.savez(out, **arrays)


def damage_stale_key(path: Path) -> None:
    """A sound entry of another range stored under this range's name."""
    other = (date(2025, 1, 2), date(2025, 6, 30))
    session_cache.write_entry(path, *other, compute_session_columns(*other))


def damage_garbage(path: Path) -> None:
    path.write_text(json.dumps({"not": "an npz"}))


@pytest.mark.parametrize("damage", [damage_truncate, damage_flip_bytes,
                                    damage_one_value_keeping_the_digest, damage_stale_key,
                                    damage_garbage], ids=lambda f: f.__name__)
def test_a_damaged_entry_is_recomputed_never_trusted(
    cache_root: Path, computed: dict[str, np.ndarray], damage, caplog: pytest.LogCaptureFixture
) -> None:
    path = session_cache.entry_path(*LONG)
    session_cache.write_entry(path, *LONG, computed)
    damage(path)
    calls: list[tuple[date, date]] = []

    def compute(first: date, last: date) -> dict[str, np.ndarray]:
        calls.append((first, last))
        return computed

    with caplog.at_level(logging.WARNING, logger=session_cache.__name__):
        columns = session_cache.load_or_compute(*LONG, compute)
    assert calls == [LONG]
    assert "unusable" in caplog.text
    for name in session_cache.COLUMNS:
        assert np.array_equal(columns[name], computed[name]), name
    repaired = session_cache.read_entry(path, *LONG)  # rewritten sound
    assert all(np.array_equal(repaired[n], computed[n]) for n in session_cache.COLUMNS)


def test_an_unwritable_cache_still_gives_the_computed_clock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, computed: dict[str, np.ndarray]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("the cache folder cannot be created under a file")
    monkeypatch.setenv(session_cache.CACHE_ENV, str(blocker))
    columns = session_cache.load_or_compute(*LONG, lambda first, last: computed)
    assert columns is computed


@pytest.mark.parametrize("today", [date(2026, 12, 8), date(2024, 2, 29), date(2025, 1, 1)])
def test_the_default_range_follows_pandas_date_offsets(today: date) -> None:
    stamp = pd.Timestamp(today)
    assert calendar_range(None, None, today=today) == (
        (stamp - pd.DateOffset(years=20)).date(), (stamp + pd.DateOffset(years=1)).date())


def test_the_default_range_is_exchange_calendars_default() -> None:
    from exchange_calendars import exchange_calendar

    start, end = exchange_calendar.GLOBAL_DEFAULT_START, exchange_calendar.GLOBAL_DEFAULT_END
    today = (end - pd.DateOffset(years=1)).date()
    assert calendar_range(None, None, today=today) == (start.date(), end.date())
    expected = (date(2024, 1, 2), date(2026, 12, 31))
    assert calendar_range("2024-01-02", date(2026, 12, 31)) == expected
    assert calendar_range(datetime(2024, 1, 2), "2026-12-31 00:00") == expected


PROBE = """
import sys
from bot.adapters.session_cache import cached_session_clock
cached_session_clock("2024-01-02", "2026-12-31")
print("exchange_calendars" in sys.modules)
"""


@pytest.mark.integration
def test_a_warm_cache_spares_a_new_process_the_calendar_library(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", session_cache.CACHE_ENV: str(tmp_path),
           "PYTHONPATH": str(ROOT)}
    runs = [subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, check=True,
                           capture_output=True, text=True, timeout=120).stdout.strip()
            for _ in range(2)]
    assert runs == ["True", "False"]


def test_only_the_newest_entries_are_kept(tmp_path: Path) -> None:
    names = [f"cmes-{day:02d}.npz" for day in range(session_cache.MAX_ENTRIES + 3)]
    for age, name in enumerate(reversed(names)):  # names[0] oldest
        (tmp_path / name).write_bytes(b"x")
        os.utime(tmp_path / name, (1_000_000 - age * 60, 1_000_000 - age * 60))
    (tmp_path / "other.txt").write_text("not an entry")
    session_cache.prune(tmp_path)
    kept = sorted(p.name for p in tmp_path.glob("cmes-*.npz"))
    assert kept == names[3:]
    assert (tmp_path / "other.txt").exists()

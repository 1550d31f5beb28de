"""Shared fixtures (reference data, seeded synthetic bars) and the test lanes.

Lanes: ``e2e`` (a browser), ``integration`` (real processes or servers on loopback) and ``unit``
(everything else). Folders give the default lane (``tests/e2e``; ``tests/integration``,
``tests/faults`` and ``tests/pages``); a test elsewhere that starts a process says so with
``@pytest.mark.integration``. A unit test that tries to start a process fails, so the fast lane
(``make test-fast``) stays fast and self-contained.
"""

from __future__ import annotations

import multiprocessing.process
import os
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path

import pytest

from bot.adapters.feeds.synthetic import SyntheticMarket
from shared.domain.models import Bar
from tests.fakeib.control import FakeGatewayThread
from tests.support import open_migrated_journal

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
RTH_MONDAY = datetime(2025, 3, 3, 14, 30, tzinfo=UTC)


@pytest.fixture
def shared_data() -> Path:
    """The real ES bars beside the checkout; skips when a clone has no such folder."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"reference data folder {SHARED_DATA} is absent")
    return SHARED_DATA


def synthetic_bars(count: int, seed: int = 7, start: datetime = RTH_MONDAY) -> list[Bar]:
    """The first ``count`` bars of a seeded synthetic market."""
    return list(islice(SyntheticMarket(seed, start, 5000.0).iter_bars(), count))


@pytest.fixture
def make_bars() -> Callable[..., list[Bar]]:
    return synthetic_bars


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    """A migrated journal in a fresh file, ``tmp_path / "t.db"`` (a copy of one migrated once
    per process: ``tests.support.migrated_journal``)."""
    connection = open_migrated_journal(tmp_path / "t.db")
    yield connection
    connection.close()


INTEGRATION_FOLDERS = ("integration", "faults", "pages")
LANES = ("unit", "integration", "e2e")


NEVER_UNIT_FOLDERS = ("e2e", *INTEGRATION_FOLDERS)


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """The unit lane alone (``-m unit``) does not import the lane folders' modules.

    No test there is a unit test (``tests/test_lanes.py`` checks that none is marked so), and
    each xdist worker would otherwise import all of them (and their servers, browsers and
    clients) only to deselect them.
    """
    if config.getoption("markexpr", "") != "unit":
        return None
    try:
        parts = collection_path.relative_to(REPO_ROOT / "tests").parts
    except ValueError:
        return None
    if len(parts) == 1 and parts[0] in NEVER_UNIT_FOLDERS:
        return True
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Give every test exactly one lane: its explicit mark, else its folder's."""
    for item in items:
        if any(item.get_closest_marker(lane) for lane in LANES):
            continue
        parts = Path(str(item.path)).relative_to(REPO_ROOT / "tests").parts
        if parts[0] == "e2e":
            item.add_marker(pytest.mark.e2e)
        elif parts[0] in INTEGRATION_FOLDERS:
            item.add_marker(pytest.mark.integration)
        else:
            item.add_marker(pytest.mark.unit)


@pytest.fixture(autouse=True)
def _unit_tests_start_no_process(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    """A unit test that starts a subprocess is in the wrong lane: fail it and say so."""
    if request.node.get_closest_marker("unit") is None:
        return

    def refuse(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a unit test started a process: mark it @pytest.mark.integration")

    monkeypatch.setattr(subprocess.Popen, "__init__", refuse)
    # Worker pools (research's local backend) start processes without subprocess.Popen.
    monkeypatch.setattr(multiprocessing.process.BaseProcess, "start", refuse)


@pytest.fixture(autouse=True, scope="session")
def _bar_cache_in_a_temporary_folder(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Backtests under test cache parsed bar files in a temporary folder, never under data/."""
    os.environ.setdefault("TRADER_CACHE_DIR", str(tmp_path_factory.mktemp("bar_cache")))


@pytest.fixture(autouse=True, scope="session")
def _practice_market_open_around_the_clock() -> None:
    """Real-time synthetic bots under test trade around the clock (``feed.realtime_hours``):
    a test that waits for real-time bars must not depend on the hour CI runs at (the CME halt
    is 16:00-17:00 CT every weekday, and the weekend). Tests of the Globex hours themselves
    build their markets explicitly."""
    os.environ.setdefault("TRADER_REALTIME_HOURS", "always")


@pytest.fixture
def fake() -> Iterator[FakeGatewayThread]:
    """A fake TWS gateway on a loopback port, closed after the test."""
    gateway = FakeGatewayThread().start()
    yield gateway
    gateway.close()

"""The database size panel's figures: growth per day from nightly runs, the tables, the line."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.maintenance.nightly import run_maintenance
from dashboard import db_size_views
from shared.config.maintenance import MaintenanceConfig
from shared.persistence import db_size_store, journal_store
from shared.persistence.db import connect, write_transaction
from tests.bot.maintenance.journal_rows import NOW, decision

pytestmark = pytest.mark.unit

DAY = timedelta(days=1)
NO_BACKUP = MaintenanceConfig(backup_keep=0)


def test_growth_per_day_is_the_used_bytes_added_per_day_between_nightly_runs(conn, tmp_path):
    db = tmp_path / "t.db"
    reader = connect(db, readonly=True)
    view = db_size_views.db_size_view(reader, db)
    assert view.last_run is None and view.growth_bytes_per_day is None
    assert "No nightly maintenance recorded yet" in view.summary(NOW)

    run_maintenance(db, NO_BACKUP, NOW - 2 * DAY)
    with write_transaction(conn):  # two days of rows
        journal_store.insert_decisions(conn, [decision(NOW - DAY)] * 3000, NOW - DAY)
    run_maintenance(db, NO_BACKUP, NOW)
    runs = db_size_store.recent_runs(reader)
    added = db_size_views.used_bytes(runs[0]) - db_size_views.used_bytes(runs[1])
    view = db_size_views.db_size_view(reader, db)
    assert added > 0 and view.growth_bytes_per_day == pytest.approx(added / 2)
    assert view.tables.iloc[0]["table"] == "decisions"
    assert view.tables.iloc[0]["rows"] == 3000
    assert view.summary(NOW + 3 * timedelta(hours=1)).startswith(
        "Last maintenance 3 h ago (done): 0 old rows deleted, 0 archive file(s), no backup.")
    reader.close()


def test_human_bytes():
    assert [db_size_views.human_bytes(v) for v in (None, 512, 1536, 5 * 1024**2, 3 * 1024**3)] \
        == ["-", "512 B", "1.5 KB", "5.0 MB", "3.0 GB"]

"""``tests.support.migrated_journal``: a copy of the migrated template is the journal that
``open_database`` makes on a new file."""

from __future__ import annotations

import stat

import pytest

from shared.persistence.db import open_database, schema_version
from tests.support import migrated_journal, open_migrated_journal

pytestmark = pytest.mark.unit


def schema(conn) -> list[tuple]:
    return [tuple(row) for row in conn.execute(
        "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name")]


def test_a_copied_journal_has_the_schema_and_mode_of_a_freshly_migrated_one(tmp_path):
    fresh = open_database(tmp_path / "fresh.db")
    copied = open_migrated_journal(tmp_path / "copied.db")
    try:
        assert schema(copied) == schema(fresh) and len(schema(fresh)) > 20
        assert schema_version(copied) == schema_version(fresh) > 0
        assert copied.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert stat.S_IMODE((tmp_path / "copied.db").stat().st_mode) == 0o600
        tables = [name for kind, name, *_ in schema(copied)
                  if kind == "table" and not name.startswith("sqlite_")]
        rows = {t: copied.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables}
        assert rows == {t: fresh.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0]
                        for t in tables}
    finally:
        fresh.close()
        copied.close()


def test_an_existing_file_is_never_overwritten(tmp_path):
    path = tmp_path / "kept.db"
    path.write_bytes(b"not a journal")
    with pytest.raises(FileExistsError, match="kept.db exists"):
        migrated_journal(path)
    assert path.read_bytes() == b"not a journal"

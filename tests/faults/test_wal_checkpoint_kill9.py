"""kill -9 while the journal writes a bar a transaction and checkpoints between them: every
commit the writer reported is in the journal when it is opened again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from shared.persistence import journal_store
from shared.persistence.db import open_database
from tests.support import REPO_ROOT, open_migrated_journal

pytestmark = [pytest.mark.integration, pytest.mark.faults]

T0 = datetime(2025, 3, 4, 15, 0, tzinfo=UTC)

WRITER = """
import sys
from datetime import UTC, datetime, timedelta
from shared.domain.models import Bar
from shared.persistence import journal_store
from shared.persistence.db import open_database, write_transaction
from shared.persistence.wal_checkpoint import WalCheckpointer

conn = open_database(sys.argv[1])
checkpointer = WalCheckpointer(conn, every_changes=25)
t0 = datetime(2025, 3, 4, 15, 0, tzinfo=UTC)
i = 0
while True:
    with write_transaction(conn):
        journal_store.insert_bar(conn, "MES", Bar(t0 + timedelta(seconds=5 * i), 5000.0,
                                                  5001.0, 4999.0, 5000.5, 10 + i))
    print(f"committed {i}", flush=True)
    if checkpointer.maybe_checkpoint() is not None:
        print("checkpointed", flush=True)
    i += 1
"""


@pytest.mark.parametrize("kill_after_commits", [40, 137, 401])
def test_kill_9_at_any_point_loses_no_reported_commit(tmp_path, kill_after_commits):
    db = tmp_path / "j.db"
    open_migrated_journal(db).close()
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(db)], cwd=REPO_ROOT,
                              stdout=subprocess.PIPE, text=True)
    assert writer.stdout is not None
    reported, checkpoints = -1, 0
    try:
        while reported + 1 < kill_after_commits:
            line = writer.stdout.readline()  # blocks on the writer's next report
            if not line:
                pytest.fail(f"the writer exited ({writer.wait()}) before {kill_after_commits}")
            if line.startswith("committed"):
                reported = int(line.split()[1])
            else:
                checkpoints += 1
        os.kill(writer.pid, signal.SIGKILL)
    finally:
        writer.kill()
        rest = writer.communicate()[0]
    for line in rest.splitlines():  # reported before the kill landed
        if line.startswith("committed"):
            reported = int(line.split()[1])
        elif line:
            checkpoints += 1
    assert writer.returncode == -signal.SIGKILL
    assert checkpoints >= 1, "no checkpoint ran before the kill"
    conn = open_database(db)
    bars = journal_store.recent_bars(conn, "MES", 100_000)
    conn.close()
    assert len(bars) >= reported + 1  # the one in flight may be there too
    assert [b.ts for b in bars[:reported + 1]] == [
        T0 + timedelta(seconds=5 * i) for i in range(reported + 1)]

"""Helpers any test may use: the repository root and polling for a condition with a deadline."""

from __future__ import annotations

import atexit
import shutil
import sqlite3
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from shared.persistence.db import open_database
from shared.private_files import create_private

T = TypeVar("T")
REPO_ROOT = Path(__file__).resolve().parents[1]
_template: list[Path] = []  # this process's migrated journal, made on first use
_template_lock = threading.Lock()


def wait_for(
    probe: Callable[[], T | None], timeout_s: float, what: str,
    process: subprocess.Popen[bytes] | None = None, log: Path | None = None,
) -> T:
    """Poll ``probe`` until it returns something truthy; fail with the process's log on timeout."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = probe()
        if result:
            return result
        if process is not None and process.poll() is not None:
            raise AssertionError(f"bot exited ({process.returncode}) while waiting for {what}:\n"
                                 f"{log.read_text() if log else ''}")
        time.sleep(0.05)
    tail = log.read_text()[-3000:] if log and log.exists() else ""
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}\n{tail}")


def migrated_journal(path: Path) -> Path:
    """Put a freshly migrated, empty journal at ``path`` (which must not exist yet) and return it.

    Migrating a new file takes one write transaction per migration (0.1-0.5 s under load, most
    of it waiting on the disk); this copies one file ``open_database`` migrated once in this process
    (~1 ms), so fixtures that only need "a migrated journal" pay for the migrations once. The
    copy is a real, private (0600) SQLite file that ``open_database`` then opens as it would
    any up-to-date journal; tests of the migrations themselves call ``open_database`` on a new
    file instead.
    """
    with _template_lock:
        if not _template:
            folder = Path(tempfile.mkdtemp(prefix="journal-template-"))
            atexit.register(shutil.rmtree, folder, True)
            open_database(folder / "template.db").close()  # the WAL is checkpointed, removed
            _template.append(folder / "template.db")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not create_private(path):
        raise FileExistsError(f"{path} exists: migrated_journal makes new journals only")
    shutil.copyfile(_template[0], path)  # into the 0600 file created above
    return path


def open_migrated_journal(path: Path) -> sqlite3.Connection:
    """``open_database`` on a new journal at ``path`` made by ``migrated_journal``."""
    return open_database(migrated_journal(path))

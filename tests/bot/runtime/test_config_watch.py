"""Hot reload of the config file: bad edits (empty ones included) keep the running config."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.runtime.config_watch import ConfigWatcher
from shared.config.settings import Settings, load_settings
from shared.persistence.db import open_database

NOW = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)


def _edit(path: Path, content: bytes, step: int) -> None:
    """Write ``content`` with a distinct mtime, as a later edit has."""
    path.write_bytes(content)
    stamp = 1_700_000_000 + step
    os.utime(path, (stamp, stamp))


@pytest.mark.parametrize(("content", "message"), [
    (b"", "config file {path} is empty: keeping the running config"),
    (b"  \n\t\n", "config file {path} is empty: keeping the running config"),
    (b"\xff\xfe\x00", "config file {path} is not UTF-8 text (byte 0xff at offset 0): keeping "
                      "the running config"),
    (b"risk: [not : yaml\n", "config file {path} rejected, keeping the running config: not "
                             "valid YAML"),
])
def test_a_bad_edit_is_rejected_and_the_running_config_stays(tmp_path, content, message):
    path = tmp_path / "config.yaml"
    _edit(path, b"risk:\n  max_contracts: 1\n", 0)
    running = load_settings(path, env={})
    watcher = ConfigWatcher(path, running)
    _edit(path, content, 1)
    change = watcher.poll(None, NOW)  # a rejection never touches the journal
    assert change is not None and change.error is not None
    assert change.error.startswith(message.format(path=path))
    assert change.settings is running and change.settings.risk.max_contracts == 1
    assert watcher.running is running
    assert watcher.poll(None, NOW) is None  # reported once per edit


def test_a_good_edit_after_an_empty_one_applies(tmp_path):
    path = tmp_path / "config.yaml"
    _edit(path, b"risk:\n  max_contracts: 1\n", 0)
    watcher = ConfigWatcher(path, load_settings(path, env={}))
    _edit(path, b"", 1)
    assert watcher.poll(None, NOW).error is not None
    _edit(path, b"risk:\n  max_contracts: 3\n", 2)
    conn = open_database(tmp_path / "t.db")
    try:
        change = watcher.poll(conn, NOW)
    finally:
        conn.close()
    assert change.error is None and change.settings.risk.max_contracts == 3
    assert change.settings != Settings()

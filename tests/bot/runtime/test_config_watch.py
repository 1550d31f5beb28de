"""The one config source: versions in the database; start-up choice and hot reload from it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.runtime.config_watch import ConfigWatcher, import_config_file, settings_for_start
from shared.config.settings import Settings, settings_from_mapping
from shared.domain.errors import ConfigError
from shared.persistence import config_source, ops_store
from shared.persistence.db import write_transaction

NOW = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)


def contracts(n: int) -> Settings:
    return settings_from_mapping({"risk": {"max_contracts": n}}, env={})


def test_a_first_start_imports_the_default_file_and_later_starts_keep_the_stored_version(
    conn, tmp_path
):
    path = tmp_path / "config.yaml"
    path.write_text("risk:\n  max_contracts: 2\n", encoding="utf-8")
    first_id, first = settings_for_start(conn, path, False, {}, NOW)
    assert first.risk.max_contracts == 2
    path.write_text("risk:\n  max_contracts: 4\n", encoding="utf-8")  # a hand edit, not imported
    again_id, again = settings_for_start(conn, path, False, {}, NOW)
    assert (again_id, again.risk.max_contracts) == (first_id, 2)


def test_config_given_explicitly_is_imported_once_and_env_overrides_apply_on_top(conn, tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("risk:\n  confidence_threshold: 0.6\n", encoding="utf-8")
    first_id, _ = settings_for_start(conn, path, True, {}, NOW)
    second_id, settings = settings_for_start(conn, path, True, {"CONFIDENCE_THRESHOLD": "0.7"},
                                             NOW)
    assert first_id == second_id  # the same file is not stored twice
    assert settings.risk.confidence_threshold == 0.7
    assert "0.6" in ops_store.active_config_version(conn).yaml  # env never stored


def test_no_file_and_no_version_means_the_defaults_stored_as_version_one(conn):
    version_id, settings = settings_for_start(conn, None, False, {}, NOW)
    assert settings == Settings() and ops_store.active_config_version_id(conn) == version_id


@pytest.mark.parametrize("content", [b"", b"  \n\t\n", b"\xff\xfe\x00", b"risk: [not : yaml\n",
                                     b"risk:\n  max_contracts: -3\n"])
def test_a_bad_import_is_refused_and_stores_nothing(conn, tmp_path, content):
    with write_transaction(conn):
        config_source.store_version(conn, contracts(1), "test", "start", NOW)
    before = ops_store.active_config_version(conn)
    path = tmp_path / "bad.yaml"
    path.write_bytes(content)
    with pytest.raises(ConfigError), write_transaction(conn):
        import_config_file(conn, path, "cli", "bad", NOW)
    assert ops_store.active_config_version(conn) == before


def test_the_watcher_applies_a_new_version_once_and_reports_what_needs_a_restart(conn):
    with write_transaction(conn):
        version_id, _ = config_source.store_version(conn, contracts(1), "test", "start", NOW)
    watcher = ConfigWatcher(contracts(1), version_id, env={})
    assert watcher.poll(conn) is None
    wanted = settings_from_mapping({"risk": {"max_contracts": 3},
                                    "features": {"window_bars": 300}}, env={})
    with write_transaction(conn):
        new_id, stored = config_source.store_version(conn, wanted, "dashboard", "more", NOW)
    change = watcher.poll(conn)
    assert stored and change.version_id == new_id and change.error is None
    assert change.settings.risk.max_contracts == 3 and "risk.max_contracts" in change.applied
    assert change.needs_restart == ("features.window_bars",)
    assert watcher.poll(conn) is None


def test_a_stored_version_that_no_longer_parses_is_rejected_once_and_the_config_stays(conn):
    with write_transaction(conn):
        version_id, _ = config_source.store_version(conn, contracts(1), "test", "start", NOW)
    watcher = ConfigWatcher(contracts(1), version_id, env={})
    with write_transaction(conn):
        ops_store.insert_config_version(conn, "risk: {max_contracts: -1}\n", "x", "bad", NOW)
    change = watcher.poll(conn)
    assert change.error is not None and "rejected" in change.error
    assert change.settings.risk.max_contracts == 1 and watcher.poll(conn) is None


def test_export_writes_the_active_version_for_hand_editing(conn, tmp_path):
    with write_transaction(conn):
        config_source.store_version(conn, contracts(2), "test", "start", NOW)
    path = tmp_path / "out" / "config.yaml"
    assert config_source.export_active(conn, path)
    assert path.read_text(encoding="utf-8") == ops_store.active_config_version(conn).yaml


def test_storing_the_active_settings_again_adds_no_version(conn):
    with write_transaction(conn):
        first, stored = config_source.store_version(conn, contracts(2), "a", "x", NOW)
    with write_transaction(conn):
        second, again = config_source.store_version(conn, contracts(2), "b", "y", NOW)
    assert stored and not again and first == second



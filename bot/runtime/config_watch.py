"""The running config: chosen at start, hot-reloaded from the active config version.

The one source is the active row of ``config_versions`` (``shared/persistence/config_source``).
At start ``settings_for_start`` imports ``--config FILE`` when given (and the default file on a
first start), then reads the active version. While running, ``ConfigWatcher.poll`` compares the
active version id when another connection committed (looked for at most every 20 ms; one indexed
SELECT); a new version is parsed with the same environment overrides as at start, its
hot-reloadable fields apply at once, the others are reported as "applies on restart". A version
that does not parse is an incident: the bot keeps the last good config and records the reason
once.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from shared.config.settings import (
    Settings,
    changed_fields,
    hot_reloadable_fields,
    load_settings,
    merge_hot_fields,
    parse_config_text,
    read_config_text,
)
from shared.domain.errors import ConfigError
from shared.persistence import config_source, ops_store
from shared.persistence.db import open_database, write_transaction

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ConfigChange:
    """Outcome of one reload: the settings now in force and what did or did not apply."""

    settings: Settings
    version_id: int | None
    applied: tuple[str, ...]
    needs_restart: tuple[str, ...]
    error: str | None = None


def import_config_file(
    conn: sqlite3.Connection, path: Path, author: str, note: str, now: datetime
) -> tuple[int, bool]:
    """Validate a YAML file and make it the active version; ConfigError names what is wrong.

    Run it inside ``db.write_transaction`` (callers own transactions).
    """
    settings = parse_config_text(read_config_text(path), env={}, source=f"config file {path}")
    return config_source.store_version(conn, settings, author, note, now)


def settings_for_start(
    conn: sqlite3.Connection, path: Path | None, explicit: bool, env: Mapping[str, str],
    now: datetime,
) -> tuple[int, Settings]:
    """The version to run: ``--config FILE`` imported first; on a first start the default file
    (or the defaults); otherwise the active version as stored."""
    with write_transaction(conn):
        if path is not None and (explicit or ops_store.active_config_version(conn) is None):
            why = "given with --config" if explicit else "the first start"
            import_config_file(conn, path, "bot", f"imported from {path} at {why}", now)
        if ops_store.active_config_version(conn) is None:
            config_source.store_version(conn, Settings(), "bot", "defaults at the first start",
                                        now)
    active = config_source.active_settings(conn, env)
    if active is None:  # a version was stored just above
        raise ConfigError("no active config version")
    return active


def settings_for_process(
    db_path: Path, config_path: Path | None, env: Mapping[str, str]
) -> Settings:
    """Settings for a program beside the bot (alerter, news, review): the active version, or
    before the first one the config file (or the defaults)."""
    conn = open_database(db_path)
    try:
        active = config_source.active_settings(conn, env)
    finally:
        conn.close()
    return active[1] if active is not None else load_settings(config_path, env)


class ConfigWatcher:
    """Follows the active config version; ``poll`` returns a ConfigChange when it changed."""

    def __init__(
        self, running: Settings, version_id: int | None, env: Mapping[str, str] | None = None
    ) -> None:
        self.running = running
        self.wanted = running
        self.version_id = version_id
        self._env = env
        self._rejected_id: int | None = None

    def poll(self, conn: sqlite3.Connection) -> ConfigChange | None:
        """Load the active version if it is not the one in force (or already rejected)."""
        version_id = ops_store.active_config_version_id(conn)
        if version_id is None or version_id in (self.version_id, self._rejected_id):
            return None
        try:
            loaded = config_source.active_settings(conn, self._env)
        except ConfigError as exc:
            self._rejected_id = version_id
            message = f"config version {version_id} rejected, keeping the running config: {exc}"
            logger.error(message)
            return ConfigChange(self.running, None, (), (), error=message)
        if loaded is None:
            return None
        version_id, wanted = loaded
        changed = changed_fields(self.wanted, wanted)
        hot = hot_reloadable_fields()
        self.wanted = wanted
        self.version_id = version_id
        self.running = merge_hot_fields(self.running, wanted)
        restart = tuple(name for name in changed_fields(self.running, wanted) if name not in hot)
        applied = tuple(name for name in changed if name in hot)
        logger.info("config version %s loaded: applied %s; on restart %s", version_id, applied,
                    restart)
        return ConfigChange(self.running, version_id, applied, restart)

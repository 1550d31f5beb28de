"""Hot reload: notice a changed config file, validate it, apply what may change while running.

Checked once per loop iteration (a ``stat`` call). A file that fails validation is an incident:
the bot keeps the last good config and records the reason once per edit. An empty (or
whitespace-only) file is such a failure too, never "all defaults". A valid file becomes a
config version (unless it is the active one already); its hot-reloadable fields apply at once,
the others are reported as "applies on restart".
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from shared.config.settings import (
    Settings,
    changed_fields,
    hot_reloadable_fields,
    merge_hot_fields,
    parse_config_text,
    read_config_text,
    settings_to_yaml,
)
from shared.domain.errors import ConfigError, ConfigFileError
from shared.persistence import ops_store
from shared.persistence.db import write_transaction

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ConfigChange:
    """Outcome of one reload: the settings now in force and what did or did not apply."""

    settings: Settings
    version_id: int | None
    applied: tuple[str, ...]
    needs_restart: tuple[str, ...]
    error: str | None = None


class ConfigWatcher:
    """Watches one YAML file; ``poll`` returns a ConfigChange when the file changed."""

    def __init__(self, path: Path | None, running: Settings, wanted: Settings | None = None):
        self._path = path
        self._signature = self._stat()
        self.running = running
        self.wanted = wanted or running

    def _stat(self) -> tuple[int, int] | None:
        if self._path is None:
            return None
        try:
            status = self._path.stat()
        except OSError:
            return None
        return status.st_mtime_ns, status.st_size

    def poll(self, conn: sqlite3.Connection, wall_now) -> ConfigChange | None:
        """Reload the file if it changed since the last poll."""
        signature = self._stat()
        if signature is None or signature == self._signature:
            return None
        self._signature = signature
        try:
            wanted = parse_config_text(
                read_config_text(self._path), source=f"config file {self._path}"
            )
        except ConfigFileError as exc:  # missing, unreadable, not UTF-8 or empty: names the file
            return self._rejected(f"{exc}: keeping the running config")
        except ConfigError as exc:
            return self._rejected(
                f"config file {self._path} rejected, keeping the running config: {exc}"
            )
        changed = changed_fields(self.wanted, wanted)
        hot = hot_reloadable_fields()
        self.wanted = wanted
        self.running = merge_hot_fields(self.running, wanted)
        version_id = self._record_version(conn, wanted, wall_now)
        restart = tuple(name for name in changed_fields(self.running, wanted) if name not in hot)
        applied = tuple(name for name in changed if name in hot)
        logger.info("config reloaded: applied %s; on restart %s", applied, restart)
        return ConfigChange(self.running, version_id, applied, restart)

    def _rejected(self, message: str) -> ConfigChange:
        logger.error(message)
        return ConfigChange(self.running, None, (), (), error=message)

    @staticmethod
    def _record_version(conn: sqlite3.Connection, wanted: Settings, wall_now) -> int:
        text = settings_to_yaml(wanted)
        active = ops_store.active_config_version(conn)
        if active is not None and active["yaml"] == text:
            return int(active["id"])
        with write_transaction(conn):
            return ops_store.insert_config_version(
                conn, text, "file", "config file edited while running", wall_now
            )

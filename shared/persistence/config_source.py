"""The one source of the running config: the active row of ``config_versions``.

Every writer (the dashboard's save, ``python -m bot config import``, the first start) validates
a config and stores it as the active version in ONE transaction; every reader (the bot at start
and on hot reload, the dashboard) parses the active row. ``data/config.yaml`` is an import and
export path only: the dashboard's save writes it afterwards as a copy for hand editing, and a
hand edit takes effect once imported. Environment overrides are applied by the bot on top of the
stored text, at start and on every reload alike.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

from shared.config.settings import Settings, parse_config_text, settings_to_yaml
from shared.domain.errors import ConfigError
from shared.persistence import ops_store
from shared.persistence.db import require_transaction
from shared.private_files import write_private_text


def store_version(
    conn: sqlite3.Connection, settings: Settings, author: str, note: str, now: datetime
) -> tuple[int, bool]:
    """Make ``settings`` the active version unless it already is; return (id, stored anew).

    Run it inside ``db.write_transaction``: the comparison and the insert are then one step.
    """
    require_transaction(conn, "store_version")
    active = ops_store.active_config_version(conn)
    if active is not None and _same(active.yaml, settings):
        return active.version_id, False
    text = settings_to_yaml(settings)
    return ops_store.insert_config_version(conn, text, author, note or "(no note)", now), True


def _same(stored_yaml: str, settings: Settings) -> bool:
    try:
        return parse_config_text(stored_yaml, env={}) == settings
    except ConfigError:
        return False


def active_settings(
    conn: sqlite3.Connection, env: Mapping[str, str] | None = None
) -> tuple[int, Settings] | None:
    """The active version's id and settings (``env`` overrides applied), or None before any.

    Raises ConfigError when the stored text no longer validates (say, after a downgrade).
    """
    active = ops_store.active_config_version(conn)
    if active is None:
        return None
    source = f"config version {active.version_id}"
    return active.version_id, parse_config_text(active.yaml, env=env, source=source)


def export_active(conn: sqlite3.Connection, path: Path) -> bool:
    """Write the active version's YAML to ``path`` atomically; False when there is none."""
    active = ops_store.active_config_version(conn)
    if active is None:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    write_private_text(path, active.yaml)
    return True

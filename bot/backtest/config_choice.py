"""Which config a command-line backtest runs on, and the line that says so.

By default the one the trader edited: the active version in the database (``--db``, else env
``TRADER_DB``, else ``data/trader.db``), as the bot itself runs. ``--config defaults`` asks for
the built-in defaults and ``--config FILE`` for a YAML file. Without a database or an active
version the run falls back to the built-in defaults and says so.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from shared.domain.errors import ConfigError
from shared.persistence import ops_store
from shared.persistence.db import connect, db_path_from_env
from shared.private_files import write_private_text

ACTIVE = "active"
DEFAULTS = "defaults"


@dataclass(frozen=True, slots=True)
class ConfigChoice:
    """The YAML file the run reads (None: built-in defaults) and the line naming it."""

    path: str | None
    label: str


def choose_config(flag: str | None, db_flag: str | None, folder: Path) -> ConfigChoice:
    """Resolve ``--config`` (None, ``active``, ``defaults`` or a file); an active version is
    written to ``folder`` for the run. ConfigError when ``--config active`` finds none."""
    if flag == DEFAULTS:
        return ConfigChoice(None, "built-in defaults (--config defaults)")
    if flag not in (None, ACTIVE):
        return ConfigChoice(flag, f"file {flag}")
    db = Path(db_flag) if db_flag else db_path_from_env()
    explicit = flag == ACTIVE
    if not db.is_file():
        if explicit:
            raise ConfigError(f"--config active: no database at {db} (set --db or TRADER_DB)")
        return ConfigChoice(None, f"built-in defaults (no database at {db})")
    active = _active_version(db)
    if active is None:
        if explicit:
            raise ConfigError(f"--config active: {db} has no config version yet")
        return ConfigChoice(None, f"built-in defaults ({db} has no config version yet)")
    version_id, yaml_text = active
    path = folder / f"config-version-{version_id}.yaml"
    write_private_text(path, yaml_text)
    return ConfigChoice(str(path), f"active config version {version_id} from {db}")


def _active_version(db: Path) -> tuple[int, str] | None:
    try:
        conn = connect(db, readonly=True)
    except sqlite3.Error as exc:
        raise ConfigError(f"cannot read the active config from {db}: {exc}") from None
    try:
        active = ops_store.active_config_version(conn)
    except sqlite3.Error as exc:
        raise ConfigError(f"cannot read the active config from {db}: {exc}") from None
    finally:
        conn.close()
    return None if active is None else (active.version_id, active.yaml)

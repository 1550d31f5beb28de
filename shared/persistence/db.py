"""SQLite connection and schema migrations: the one place that sets PRAGMAs and the schema.

``connect`` turns on WAL, a busy timeout and foreign keys; ``migrate`` applies the ordered list
of migrations whose index is above ``PRAGMA user_version``. Write transactions use
``BEGIN IMMEDIATE`` through ``write_transaction`` so writers queue instead of failing mid-way.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from shared.persistence import schema_llm_cache, schema_news, schema_research
from shared.persistence.schema_alerts import migrate_alerts
from shared.persistence.schema_backtest_cancel import backtest_cancel_and_unique_ids
from shared.persistence.schema_decision_indexes import partial_decision_indexes
from shared.persistence.schema_evaluation import evaluation_tables
from shared.persistence.schema_finetune import finetune_jobs
from shared.persistence.schema_heartbeat import heartbeat_risk_and_session
from shared.persistence.schema_llm_mode import llm_call_mode
from shared.persistence.schema_llm_route import llm_call_route
from shared.persistence.schema_maintenance import maintenance_runs
from shared.persistence.schema_memory import memory_tables
from shared.persistence.schema_memory_shadow import memory_shadow_column
from shared.persistence.schema_probation import probation_table
from shared.persistence.schema_protections import heartbeat_protections
from shared.persistence.schema_rules import learning_tables
from shared.persistence.schema_trade_log import trade_log_tables
from shared.private_files import create_private

logger = logging.getLogger(__name__)

DEFAULT_DB_PATH = Path("data/trader.db")
BUSY_TIMEOUT_MS = 5000


class SchemaTooNewError(RuntimeError):
    """The database was written by a newer version of the code (``user_version`` above ours).

    Opening it would let old code write rows a newer schema does not expect, so every process
    refuses it with this one line (the bot exits 2: a restart cannot help, an upgrade can).
    """

    def __init__(self, found: int, known: int, path: Path | None = None) -> None:
        where = f" at {path}" if path is not None else ""
        super().__init__(
            f"database schema version {found}{where} is newer than this code knows ({known}): "
            "run the newer code, or point --db/TRADER_DB at another database"
        )
        self.found = found
        self.known = known


def db_path_from_env(default: Path = DEFAULT_DB_PATH) -> Path:
    """Return the database path: env ``TRADER_DB`` if set, else ``default``."""
    value = os.environ.get("TRADER_DB", "").strip()
    return Path(value) if value else default


def connect(path: Path | str, readonly: bool = False) -> sqlite3.Connection:
    """Open the database with WAL, busy_timeout, foreign keys; autocommit (explicit BEGINs)."""
    if readonly:
        uri = f"file:{Path(path).resolve()}?mode=ro"
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    else:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        if str(path) != ":memory:":
            create_private(Path(path))  # 0600; SQLite gives -wal and -shm the same mode
        conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    if not readonly:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
    return conn


class WriteTransaction:
    """``with``: ``BEGIN IMMEDIATE`` … ``COMMIT``, rolled back on any exception (the block's
    or the commit's). A plain class, not a generator context manager: the live journal opens
    one a bar."""

    __slots__ = ("_conn",)

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self._conn.execute("BEGIN IMMEDIATE")
        return self._conn

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if exc_type is not None:
            _rollback(self._conn)
            return  # the block's exception goes on
        try:
            self._conn.execute("COMMIT")
        except BaseException:
            _rollback(self._conn)
            raise


def write_transaction(conn: sqlite3.Connection) -> WriteTransaction:
    """Run a block inside ``BEGIN IMMEDIATE`` … ``COMMIT`` (rolled back on any exception)."""
    return WriteTransaction(conn)


def require_transaction(conn: sqlite3.Connection, what: str) -> None:
    """Refuse a write outside a transaction: callers own transactions (``write_transaction``).

    Every write function of ``shared/persistence`` starts with this check, so a caller that
    forgets the transaction fails at once instead of writing half of something.
    """
    if not conn.in_transaction:
        raise RuntimeError(f"{what} must run inside db.write_transaction (callers own "
                           "transactions)")


def _rollback(conn: sqlite3.Connection) -> None:
    """Roll back what is still open, never hiding the error that got us here.

    After SQLITE_FULL or an I/O error SQLite may already have rolled the transaction back, and a
    second ROLLBACK would replace "database or disk is full" with "no transaction is active".
    """
    if not conn.in_transaction:
        return
    try:
        conn.execute("ROLLBACK")
    except sqlite3.Error as exc:
        logger.warning("rollback failed: %s", exc)


def set_busy_timeout(conn: sqlite3.Connection, milliseconds: int) -> None:
    """Change how long this connection waits for another writer's lock (default 5 s)."""
    conn.execute(f"PRAGMA busy_timeout = {int(milliseconds)}")


def _run_script(conn: sqlite3.Connection, script: str) -> None:
    # executescript() would COMMIT the surrounding BEGIN IMMEDIATE, so run statements one by one.
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


def _v1_trading_core(conn: sqlite3.Connection) -> None:
    _run_script(
        conn,
        """
        CREATE TABLE bars (
            symbol TEXT NOT NULL,
            ts TEXT NOT NULL,
            open REAL NOT NULL, high REAL NOT NULL, low REAL NOT NULL, close REAL NOT NULL,
            volume REAL NOT NULL,
            PRIMARY KEY (symbol, ts)
        ) WITHOUT ROWID;

        CREATE TABLE decisions (
            id INTEGER PRIMARY KEY,
            ts TEXT NOT NULL,
            symbol TEXT NOT NULL,
            close REAL NOT NULL,
            features_json TEXT NOT NULL,
            regime_json TEXT NOT NULL,
            votes_json TEXT NOT NULL,
            signal_action TEXT NOT NULL,
            signal_confidence REAL NOT NULL,
            memory_adjustment REAL NOT NULL,
            llm_adjustment REAL NOT NULL,
            final_confidence REAL NOT NULL,
            verdict TEXT NOT NULL,
            risk_rule TEXT,
            reasons_json TEXT NOT NULL,
            action_taken TEXT NOT NULL,
            bracket_id TEXT,
            labels_json TEXT NOT NULL,
            recorded_at TEXT NOT NULL
        );
        CREATE INDEX decisions_ts ON decisions (ts);
        CREATE INDEX decisions_bracket ON decisions (bracket_id);

        CREATE TABLE orders (
            order_id TEXT PRIMARY KEY,
            bracket_id TEXT NOT NULL,
            symbol TEXT NOT NULL,
            side TEXT NOT NULL,
            role TEXT NOT NULL,
            order_type TEXT NOT NULL,
            contracts INTEGER NOT NULL CHECK (contracts > 0),
            price REAL,
            status TEXT NOT NULL,
            exit_reason TEXT,
            created_ts TEXT NOT NULL,
            updated_ts TEXT NOT NULL,
            ib_perm_id INTEGER,
            recorded_at TEXT NOT NULL
        );
        CREATE INDEX orders_status ON orders (status);
        CREATE INDEX orders_bracket ON orders (bracket_id);

        CREATE TABLE order_events (
            id INTEGER PRIMARY KEY,
            order_id TEXT NOT NULL REFERENCES orders (order_id),
            ts TEXT NOT NULL,
            status TEXT NOT NULL,
            price REAL,
            detail TEXT NOT NULL,
            recorded_at TEXT NOT NULL
        );

        CREATE TABLE fills (
            fill_id TEXT PRIMARY KEY,
            order_id TEXT NOT NULL REFERENCES orders (order_id),
            bracket_id TEXT NOT NULL,
            symbol TEXT NOT NULL,
            side TEXT NOT NULL,
            role TEXT NOT NULL,
            contracts INTEGER NOT NULL,
            price REAL NOT NULL,
            ts TEXT NOT NULL,
            commission_cents INTEGER NOT NULL,
            exit_reason TEXT,
            recorded_at TEXT NOT NULL
        );

        CREATE TABLE trades (
            id INTEGER PRIMARY KEY,
            bracket_id TEXT NOT NULL UNIQUE,
            symbol TEXT NOT NULL,
            side TEXT NOT NULL,
            contracts INTEGER NOT NULL,
            entry_ts TEXT NOT NULL,
            entry_price REAL NOT NULL,
            exit_ts TEXT NOT NULL,
            exit_price REAL NOT NULL,
            exit_reason TEXT NOT NULL,
            pnl_gross_cents INTEGER NOT NULL,
            commission_cents INTEGER NOT NULL,
            pnl_net_cents INTEGER NOT NULL,
            trend TEXT, volatility TEXT, time_bucket TEXT,
            bias_at_entry TEXT NOT NULL DEFAULT 'neutral',
            recorded_at TEXT NOT NULL
        );
        CREATE INDEX trades_exit_ts ON trades (exit_ts);

        CREATE TABLE positions (
            symbol TEXT PRIMARY KEY,
            side TEXT NOT NULL,
            contracts INTEGER NOT NULL CHECK (contracts > 0),
            entry_price REAL NOT NULL,
            entry_ts TEXT NOT NULL,
            bracket_id TEXT NOT NULL,
            stop_price REAL,
            target_price REAL,
            entry_commission_cents INTEGER NOT NULL,
            recorded_at TEXT NOT NULL
        );

        CREATE TABLE bot_state (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            heartbeat_at TEXT NOT NULL,
            last_bar_ts TEXT,
            pid INTEGER,
            mode TEXT NOT NULL,
            broker_connected INTEGER NOT NULL,
            symbol TEXT NOT NULL,
            position_side TEXT,
            position_contracts INTEGER NOT NULL DEFAULT 0,
            position_entry_price REAL,
            equity_cents INTEGER NOT NULL,
            realized_today_cents INTEGER NOT NULL,
            unrealized_cents INTEGER NOT NULL,
            bias TEXT NOT NULL,
            halted INTEGER NOT NULL,
            halt_reason TEXT NOT NULL DEFAULT '',
            config_version INTEGER,
            bars_processed INTEGER NOT NULL DEFAULT 0,
            bad_bars_skipped INTEGER NOT NULL DEFAULT 0,
            status TEXT NOT NULL DEFAULT ''
        );

        CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            ts TEXT NOT NULL,
            kind TEXT NOT NULL,
            severity TEXT NOT NULL,
            message TEXT NOT NULL,
            detail_json TEXT NOT NULL DEFAULT '{}',
            recorded_at TEXT NOT NULL
        );
        CREATE INDEX events_ts ON events (ts);

        CREATE TABLE commands (
            id INTEGER PRIMARY KEY,
            created_at TEXT NOT NULL,
            kind TEXT NOT NULL,
            payload_json TEXT NOT NULL DEFAULT '{}',
            status TEXT NOT NULL DEFAULT 'pending',
            result TEXT NOT NULL DEFAULT '',
            processed_at TEXT
        );
        CREATE INDEX commands_status ON commands (status);

        CREATE TABLE config_versions (
            id INTEGER PRIMARY KEY,
            created_at TEXT NOT NULL,
            author TEXT NOT NULL,
            note TEXT NOT NULL,
            yaml TEXT NOT NULL,
            active INTEGER NOT NULL DEFAULT 0
        );
        """
    )


def _backtest_tables(conn: sqlite3.Connection) -> None:
    """Backtest runs (request, status, progress, metrics), their trades and equity curves."""
    _run_script(
        conn,
        """
        CREATE TABLE IF NOT EXISTS backtest_runs (
            id INTEGER PRIMARY KEY,
            created_at TEXT NOT NULL,
            name TEXT NOT NULL DEFAULT '',
            request_json TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'queued',
            progress REAL NOT NULL DEFAULT 0,
            message TEXT NOT NULL DEFAULT '',
            pid INTEGER,
            started_at TEXT,
            updated_at TEXT,
            finished_at TEXT,
            metrics_json TEXT,
            breakdowns_json TEXT,
            chart_json TEXT
        );
        CREATE TABLE IF NOT EXISTS backtest_trades (
            run_id INTEGER NOT NULL REFERENCES backtest_runs (id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            bracket_id TEXT NOT NULL,
            symbol TEXT NOT NULL,
            side TEXT NOT NULL,
            contracts INTEGER NOT NULL,
            entry_ts TEXT NOT NULL,
            entry_price REAL NOT NULL,
            exit_ts TEXT NOT NULL,
            exit_price REAL NOT NULL,
            exit_reason TEXT NOT NULL,
            pnl_gross_cents INTEGER NOT NULL,
            commission_cents INTEGER NOT NULL,
            pnl_net_cents INTEGER NOT NULL,
            trend TEXT, volatility TEXT, time_bucket TEXT,
            PRIMARY KEY (run_id, seq)
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS backtest_equity (
            run_id INTEGER NOT NULL REFERENCES backtest_runs (id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            ts TEXT NOT NULL,
            equity_cents INTEGER NOT NULL,
            drawdown_cents INTEGER NOT NULL,
            PRIMARY KEY (run_id, seq)
        ) WITHOUT ROWID
        """,
    )


def _ib_order_map(conn: sqlite3.Connection) -> None:
    """Our orderRef <-> IB's (clientId, orderId) and permId, so ids survive restarts."""
    _run_script(
        conn,
        """
        CREATE TABLE ib_orders (
            order_ref TEXT PRIMARY KEY,
            client_id INTEGER NOT NULL,
            ib_order_id INTEGER NOT NULL,
            perm_id INTEGER,
            con_id INTEGER NOT NULL,
            placed_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX ib_orders_perm ON ib_orders (perm_id);
        CREATE INDEX ib_orders_client ON ib_orders (client_id, ib_order_id)
        """
    )


def _llm_tables(conn: sqlite3.Connection) -> None:
    """LLM call log, per-day governor counters, provider state, and news headlines."""
    _run_script(
        conn,
        """
        CREATE TABLE llm_calls (
            id INTEGER PRIMARY KEY,
            created_at TEXT NOT NULL,
            day TEXT NOT NULL,
            trigger TEXT NOT NULL,
            trigger_json TEXT NOT NULL DEFAULT '{}',
            command_id INTEGER,
            provider TEXT NOT NULL,
            model TEXT NOT NULL,
            template_version TEXT NOT NULL,
            prompt_hash TEXT NOT NULL,
            system_prompt TEXT NOT NULL,
            prompt TEXT NOT NULL,
            response TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL,
            error TEXT NOT NULL DEFAULT '',
            stop_reason TEXT NOT NULL DEFAULT '',
            input_tokens INTEGER NOT NULL DEFAULT 0,
            output_tokens INTEGER NOT NULL DEFAULT 0,
            cache_read_tokens INTEGER NOT NULL DEFAULT 0,
            cache_write_tokens INTEGER NOT NULL DEFAULT 0,
            reserved_usd REAL NOT NULL DEFAULT 0,
            cost_usd REAL NOT NULL DEFAULT 0,
            latency_ms REAL,
            retry_attempts INTEGER NOT NULL DEFAULT 0,
            bias TEXT,
            confidence REAL,
            action TEXT,
            settled_at TEXT
        );
        CREATE INDEX llm_calls_day ON llm_calls (day);
        CREATE INDEX llm_calls_prompt ON llm_calls (prompt_hash, created_at);
        CREATE INDEX llm_calls_command ON llm_calls (command_id);

        CREATE TABLE llm_daily (
            day TEXT PRIMARY KEY,
            calls INTEGER NOT NULL DEFAULT 0,
            cost_usd REAL NOT NULL DEFAULT 0,
            refused INTEGER NOT NULL DEFAULT 0,
            calls_warned INTEGER NOT NULL DEFAULT 0,
            cost_warned INTEGER NOT NULL DEFAULT 0
        ) WITHOUT ROWID;

        CREATE TABLE llm_state (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            updated_at TEXT NOT NULL,
            provider TEXT NOT NULL,
            model TEXT NOT NULL,
            available INTEGER NOT NULL,
            reason TEXT NOT NULL DEFAULT '',
            mode TEXT NOT NULL,
            bias TEXT NOT NULL DEFAULT 'neutral',
            bias_confidence REAL,
            bias_expires_at TEXT
        );

        CREATE TABLE news (
            id INTEGER PRIMARY KEY,
            created_at TEXT NOT NULL,
            source TEXT NOT NULL,
            headline TEXT NOT NULL
        )
        """,
    )


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [
    _v1_trading_core, _backtest_tables, _ib_order_map, _llm_tables,
    schema_news.news_sentiment, migrate_alerts,
    learning_tables, trade_log_tables,
    schema_llm_cache.llm_backtest_cache,
    heartbeat_risk_and_session, backtest_cancel_and_unique_ids,
    memory_tables,
    schema_research.research_tables,
    memory_shadow_column,
    evaluation_tables,
    llm_call_mode,
    llm_call_route,
    finetune_jobs,
    heartbeat_protections,
    maintenance_runs,
    probation_table,
    partial_decision_indexes,
]


def schema_version(conn: sqlite3.Connection) -> int:
    """Return the schema version recorded in ``PRAGMA user_version``."""
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection) -> int:
    """Apply every migration above the current ``user_version``; return the new version."""
    current = schema_version(conn)
    if current > len(MIGRATIONS):
        raise SchemaTooNewError(current, len(MIGRATIONS))
    while current < len(MIGRATIONS):
        with write_transaction(conn):
            # Re-read under the write lock: another process (the bot and the alerts worker
            # start together) may have applied this step while we waited for the lock.
            current = schema_version(conn)
            if current >= len(MIGRATIONS):
                break
            MIGRATIONS[current](conn)
            conn.execute(f"PRAGMA user_version = {current + 1}")
        current += 1
        logger.info("database migrated to schema version %d", current)
    found = schema_version(conn)
    if found > len(MIGRATIONS):  # a newer program migrated it while we waited for the lock
        raise SchemaTooNewError(found, len(MIGRATIONS))
    return found


def open_database(path: Path | str) -> sqlite3.Connection:
    """Connect for writing and bring the schema up to date (``SchemaTooNewError`` naming
    ``path`` when a newer version of the code wrote it)."""
    conn = connect(path)
    try:
        migrate(conn)
    except SchemaTooNewError as exc:
        conn.close()
        raise SchemaTooNewError(exc.found, exc.known, Path(path)) from None
    except BaseException:
        conn.close()
        raise
    return conn

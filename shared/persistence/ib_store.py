"""The IB order-id map's SQL: our order refs to IB order and perm ids (``bot/adapters/ib``).
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

from shared.persistence.codec import to_text
from shared.persistence.db import require_transaction


def record_ib_order(
    conn: sqlite3.Connection, order_ref: str, client_id: int, ib_order_id: int, con_id: int,
    at: datetime,
) -> None:
    """Remember which IB (clientId, orderId) carries our ``order_ref`` (before it is sent)."""
    require_transaction(conn, "record_ib_order")
    conn.execute(
        "INSERT INTO ib_orders (order_ref, client_id, ib_order_id, perm_id, con_id, placed_at, "
        "updated_at) VALUES (?, ?, ?, NULL, ?, ?, ?) "
        "ON CONFLICT (order_ref) DO UPDATE SET client_id = excluded.client_id, "
        "ib_order_id = excluded.ib_order_id, perm_id = NULL, con_id = excluded.con_id, "
        "updated_at = excluded.updated_at",
        (order_ref, client_id, ib_order_id, con_id, to_text(at), to_text(at)),
    )


def set_ib_perm_id(conn: sqlite3.Connection, order_ref: str, perm_id: int, at: datetime) -> None:
    """Store IB's permanent id for ``order_ref`` (in the map and on the journaled order)."""
    require_transaction(conn, "set_ib_perm_id")
    conn.execute(
        "UPDATE ib_orders SET perm_id = ?, updated_at = ? WHERE order_ref = ?",
        (perm_id, to_text(at), order_ref),
    )
    conn.execute("UPDATE orders SET ib_perm_id = ? WHERE order_id = ?", (perm_id, order_ref))


def ib_order_map(conn: sqlite3.Connection) -> dict[str, dict[str, Any]]:
    """Every known orderRef with its IB ids, keyed by orderRef."""
    rows = conn.execute("SELECT * FROM ib_orders ORDER BY placed_at, order_ref").fetchall()
    return {r["order_ref"]: dict(r) for r in rows}


def max_ib_order_id(conn: sqlite3.Connection, client_id: int) -> int:
    """The highest IB orderId this clientId ever used (0 when none)."""
    row = conn.execute(
        "SELECT COALESCE(MAX(ib_order_id), 0) FROM ib_orders WHERE client_id = ?", (client_id,)
    ).fetchone()
    return int(row[0])


def fill_ids_since(conn: sqlite3.Connection, since: datetime) -> set[str]:
    """Ids of fills journaled at or after ``since`` (IB execIds in IB mode)."""
    rows = conn.execute("SELECT fill_id FROM fills WHERE ts >= ?", (to_text(since),)).fetchall()
    return {r["fill_id"] for r in rows}

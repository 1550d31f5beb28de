"""The persistent orderRef <-> IB order id map, and the order-id floor that survives restarts.

Each orderId is written to SQLite before its order is sent, so a gateway that comes back with
nextValidId rolled back can never make the bot reuse one; permIds are added as IB reports them.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

from shared.domain.models import OrderRole
from shared.persistence import ib_store
from shared.persistence.db import write_transaction


class OrderIdMap:
    """orderRef -> (clientId, orderId, permId), backed by the ``ib_orders`` table."""

    def __init__(self, conn: sqlite3.Connection, client_id: int) -> None:
        self._conn = conn
        self.client_id = client_id
        rows = ib_store.ib_order_map(conn)
        self._perm_ids: dict[str, int | None] = {ref: r["perm_id"] for ref, r in rows.items()}
        self.max_order_id = ib_store.max_ib_order_id(conn, client_id)

    def known(self, order_ref: str) -> bool:
        return order_ref in self._perm_ids

    def perm_id(self, order_ref: str) -> int | None:
        return self._perm_ids.get(order_ref)

    def record(self, refs: list[tuple[str, int]], con_id: int, at: datetime) -> None:
        """Persist (orderRef, orderId) pairs before the orders go out."""
        with write_transaction(self._conn):
            for ref, order_id in refs:
                ib_store.record_ib_order(self._conn, ref, self.client_id, order_id, con_id, at)
        for ref, order_id in refs:
            self._perm_ids[ref] = None
            self.max_order_id = max(self.max_order_id, order_id)

    def note_perm_id(self, order_ref: str, perm_id: int, at: datetime) -> None:
        """Store IB's permId for one of our refs (once)."""
        if order_ref not in self._perm_ids or self._perm_ids[order_ref] == perm_id:
            return
        with write_transaction(self._conn):
            ib_store.set_ib_perm_id(self._conn, order_ref, perm_id, at)
        self._perm_ids[order_ref] = perm_id

    def fresh_ref(self, bracket_id: str, role: OrderRole) -> str:
        """Our id for a new order of ``role`` in a bracket: '-stop', then '-stop2', ..."""
        base = f"{bracket_id}-{role.value}"
        if base not in self._perm_ids:
            return base
        n = 2
        while f"{base}{n}" in self._perm_ids:
            n += 1
        return f"{base}{n}"

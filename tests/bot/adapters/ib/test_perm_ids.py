"""IB's permId is journaled for every order of ours, one that filled before the bot looked too."""

from __future__ import annotations

from datetime import UTC, datetime

from ib_async import Contract, Order, OrderStatus, Trade

from bot.adapters.ib.book import OrderBook
from bot.adapters.ib.broker import IbBroker
from bot.adapters.ib.ids import OrderIdMap
from shared.config.settings import IbConfig
from shared.domain.instruments import get_instrument
from shared.persistence import ib_store

AT = datetime(2025, 3, 3, 14, 41, tzinfo=UTC)
REF = "MES-20250303T144130-entry"


class _FilledClient:
    """What ib_async holds after an entry filled between two syncs: its trade (with the
    permId) and its fill, reported together."""

    def __init__(self, trades: list[Trade]) -> None:
        self._trades = trades

    def trades(self) -> list[Trade]:
        return self._trades

    def fills(self) -> list:
        return []

    def isConnected(self) -> bool:  # noqa: N802 (ib_async's name)
        return True


def test_an_entry_that_left_the_book_before_the_sync_still_gets_its_perm_id(conn):
    instrument = get_instrument("MES")
    ids = OrderIdMap(conn, client_id=7)
    ids.record([(REF, 11), ("foreign-ref", 12)], con_id=42, at=AT)
    book = OrderBook(instrument, [], None, set())  # the entry filled: no longer working
    broker = IbBroker(instrument, IbConfig(), book, ids, 62, lambda: AT)
    contract = Contract(conId=42)
    ours = Trade(contract, Order(orderId=11, orderRef=REF, permId=1000001),
                 OrderStatus(orderId=11, status="Filled"))
    theirs = Trade(contract, Order(orderId=13, orderRef="manual hedge", permId=1000009),
                   OrderStatus(orderId=13, status="Submitted"))
    broker.attach(_FilledClient([ours, theirs]), contract)
    broker.sync()
    stored = ib_store.ib_order_map(conn)
    assert stored[REF]["perm_id"] == 1000001 and ids.perm_id(REF) == 1000001
    assert stored["foreign-ref"]["perm_id"] is None  # IB reported nothing for it
    assert "manual hedge" not in stored  # not ours: never recorded

"""IbBroker.cancel_entry against the fake gateway with the real ib_async client: the unfilled
entry is cancelled at the gateway with its children, and the book's order events say so."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from ib_async import IB, Future

from bot.adapters.ib.book import OrderBook
from bot.adapters.ib.broker import IbBroker
from bot.adapters.ib.ids import OrderIdMap
from shared.domain.instruments import get_instrument
from shared.domain.models import OrderPlan, OrderStatus, OrderType, Side
from tests.bot.adapters.ib.broker_support import ib_config, until
from tests.support import open_migrated_journal

pytestmark = pytest.mark.integration

MES = get_instrument("MES")


def test_cancel_entry_cancels_the_bracket_at_the_gateway(tmp_path, fake):
    fake.pause_bars()  # no bar: the limit entry can neither fill nor expire
    conn = open_migrated_journal(tmp_path / "t.db")
    broker = IbBroker(MES, ib_config(fake.port), OrderBook(MES, [], None, set()),
                      OrderIdMap(conn, 17), 62, lambda: datetime.now(UTC))
    plan = OrderPlan("MES", Side.LONG, 1, OrderType.LIMIT, 5700.0, 5690.0, 5715.0, 10.0, 15.0,
                     "test")

    async def scenario():
        ib = IB()
        await ib.connectAsync("127.0.0.1", fake.port, clientId=17, timeout=5)
        try:
            fut = Future(conId=fake.front_month().con_id, exchange="CME")
            await ib.qualifyContractsAsync(fut)
            broker.attach(ib, fut)
            now = datetime.now(UTC)
            broker.place_bracket(plan, "MES-b1", now)
            await until(lambda: len(fake.working_orders()) == 3, "the bracket at the gateway")
            assert broker.cancel_entry(now)
            await until(lambda: not fake.working_orders(), "the cancels at the gateway")
            await until(lambda: (broker.sync(), not broker.working_orders())[1],
                         "the book to see the cancels")
            return broker.drain_updates()
        finally:
            ib.disconnect()

    try:
        updates = asyncio.run(scenario())
    finally:
        conn.close()
    final = {e.order.order_id: e.order.status for e in updates.orders}
    assert final == {f"MES-b1-{r}": OrderStatus.CANCELLED for r in ("entry", "target", "stop")}
    assert {o.order_ref: o.status for o in fake.placed_orders()} == {
        f"MES-b1-{r}": "Cancelled" for r in ("entry", "target", "stop")}
    assert not fake.executions() and broker.position() is None
    assert not broker.cancel_entry(datetime.now(UTC)), "nothing left to cancel"

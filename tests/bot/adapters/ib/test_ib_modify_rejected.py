"""A refused modification of a working stop, with the real ib_async client against the fake
gateway: IB keeps the old stop working, so the book must too, and no second stop may be sent.

ib_async takes an order error it does not class as a warning (201 "Order rejected", unlike
321) as the end of the order and marks the trade Cancelled locally, while IB still holds the
order at its old price (erdewit/ib_insync #502). A 201 on a NEW order stays a rejection.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from ib_async import IB, Future

from bot.adapters.ib.book import OrderBook
from bot.adapters.ib.broker import IbBroker
from bot.adapters.ib.ids import OrderIdMap
from shared.domain.instruments import get_instrument
from shared.domain.models import ExitReason, OrderPlan, OrderRole, OrderStatus, OrderType, Side
from shared.persistence.db import open_database
from tests.bot.adapters.ib.broker_support import ib_config, until

pytestmark = pytest.mark.integration

MES = get_instrument("MES")
CLIENT_ID = 17


def _broker(tmp_path, fake) -> tuple[IbBroker, object]:
    conn = open_database(tmp_path / "t.db")
    broker = IbBroker(MES, ib_config(fake.port), OrderBook(MES, [], None, set()),
                      OrderIdMap(conn, CLIENT_ID), 62, lambda: datetime.now(UTC))
    return broker, conn


def _stops_at_gateway(fake) -> list:
    return [o for o in fake.working_orders() if o.order_type == "STP"]


async def _attach(broker: IbBroker, fake) -> IB:
    ib = IB()
    await ib.connectAsync("127.0.0.1", fake.port, clientId=CLIENT_ID, timeout=5)
    fut = Future(conId=fake.front_month().con_id, exchange="CME")
    await ib.qualifyContractsAsync(fut)
    broker.attach(ib, fut)
    return ib


async def _long_with_bracket(broker: IbBroker, fake, bracket_id: str) -> tuple[float, float]:
    """A filled market entry whose stop and target are far from the market; bars then stop."""
    price = fake.last_price()
    stop, target = MES.round_to_tick(price - 150), MES.round_to_tick(price + 150)
    plan = OrderPlan("MES", Side.LONG, 1, OrderType.MARKET, None, stop, target, 150.0, 150.0,
                     "test")
    broker.place_bracket(plan, bracket_id, datetime.now(UTC))
    await until(lambda: (broker.sync(), broker.position() is not None)[1], "the entry fill")
    fake.pause_bars()
    await until(lambda: len(_stops_at_gateway(fake)) == 1
                 and _stops_at_gateway(fake)[0].status == "Submitted", "the stop working")
    return stop, target


@pytest.mark.parametrize("code", [201, 321])
def test_refused_stop_modification_keeps_the_one_stop(tmp_path, fake, code):
    broker, conn = _broker(tmp_path, fake)

    async def scenario():
        ib = await _attach(broker, fake)
        try:
            stop, _ = await _long_with_bracket(broker, fake, "MES-m1")
            broker.drain_updates()
            broker.drain_notices()
            fake.reject_next_modifies(1, code=code)
            broker.move_stop(stop + 10, datetime.now(UTC), ExitReason.TRAILING_STOP)
            await until(lambda: fake.errors_sent(code) >= 1, f"the gateway's {code}")
            notices = await until(
                lambda: (broker.sync(), broker.drain_notices())[1], "the refusal noticed")
            booked = broker.book.working(OrderRole.STOP)
            sent_again = broker.ensure_protective_stop(stop - 5, datetime.now(UTC))
            at_gateway = [(o.order_ref, o.aux) for o in _stops_at_gateway(fake)]
            # the stop IB still holds can still be moved: it is not lost to the bot
            broker.move_stop(stop + 5, datetime.now(UTC), ExitReason.TRAILING_STOP)
            await until(lambda: fake.modifications(), "the later modification")
            broker.sync()
            return stop, notices, booked, sent_again, at_gateway
        finally:
            ib.disconnect()

    try:
        stop, notices, booked, sent_again, at_gateway = asyncio.run(scenario())
    finally:
        conn.close()
    assert booked is not None and booked.status is OrderStatus.WORKING
    assert booked.order_id == "MES-m1-stop" and booked.price == stop
    refused = [n for n in notices if n.kind == "stop_modify_rejected"]
    assert len(refused) == 1 and refused[0].severity == "incident"
    assert f"({code} " in refused[0].message and f"old stop {stop:g} stays" in \
        refused[0].message
    assert not sent_again, "a second stop was sent while IB still holds the first"
    assert at_gateway == [("MES-m1-stop", stop)]
    assert len([o for o in fake.placed_orders() if o.order_type == "STP"]) == 1
    assert fake.modifications() == [("MES-m1-stop", stop + 5)]
    assert broker.book.working(OrderRole.STOP).price == stop + 5
    assert broker.position().stop_price == stop + 5


def test_stop_gone_after_a_refused_modification_is_replaced_once(tmp_path, fake):
    """Should IB drop the order with the refusal after all, the bot asks IB for its open
    orders, books the stop cancelled and lets exactly one new stop be placed."""
    broker, conn = _broker(tmp_path, fake)

    async def scenario():
        ib = await _attach(broker, fake)
        try:
            stop, _ = await _long_with_bracket(broker, fake, "MES-g1")
            broker.drain_notices()
            fake.reject_next_modifies(1, code=201, drops=True)
            broker.move_stop(stop + 10, datetime.now(UTC), ExitReason.TRAILING_STOP)
            await until(lambda: fake.errors_sent(201) >= 1, "the gateway's 201")
            await until(lambda: (broker.sync(), broker.book.working(OrderRole.STOP) is None)[1],
                         "the book to learn the stop is gone")
            notices = broker.drain_notices()
            sent = broker.ensure_protective_stop(stop - 5, datetime.now(UTC))
            await until(lambda: len(_stops_at_gateway(fake)) == 1, "the re-placed stop")
            return stop, notices, sent, [(o.order_ref, o.aux) for o in _stops_at_gateway(fake)]
        finally:
            ib.disconnect()

    try:
        stop, notices, sent, at_gateway = asyncio.run(scenario())
    finally:
        conn.close()
    kinds = [n.kind for n in notices if n.severity == "incident"]
    assert kinds == ["stop_modify_rejected", "order_gone_after_modify"]
    assert sent and at_gateway == [("MES-g1-stop2", stop)]
    assert not broker.ensure_protective_stop(stop - 5, datetime.now(UTC))


def test_rejected_new_bracket_is_still_a_rejection(tmp_path, fake):
    broker, conn = _broker(tmp_path, fake)

    async def scenario():
        ib = await _attach(broker, fake)
        try:
            fake.reject_next_orders(1)
            price = fake.last_price()
            plan = OrderPlan("MES", Side.LONG, 1, OrderType.MARKET, None, price - 150,
                             price + 150, 150.0, 150.0, "test")
            broker.place_bracket(plan, "MES-r1", datetime.now(UTC))
            await until(lambda: fake.errors_sent(201) >= 1, "the gateway's 201")
            await until(lambda: (broker.sync(), not broker.working_orders())[1],
                         "the book to close the rejected bracket")
            return broker.drain_updates(), broker.drain_notices()
        finally:
            ib.disconnect()

    try:
        updates, notices = asyncio.run(scenario())
    finally:
        conn.close()
    final = {e.order.order_id: e.order.status for e in updates.orders}
    assert final["MES-r1-entry"] is OrderStatus.REJECTED
    assert [n.kind for n in notices if n.severity == "incident"] == ["order_rejected"]
    assert broker.position() is None and not fake.working_orders()

"""The fake gateway against the real ib_async client: startup sync, contracts, brackets, errors."""

from __future__ import annotations

import asyncio

import pytest
from ib_async import IB, ContFuture, Future, LimitOrder, MarketOrder, StopOrder

from tests.fakeib.client import hold_client_id
from tests.fakeib.control import FakeGatewayThread


@pytest.fixture
def fake():
    gateway = FakeGatewayThread().start()
    gateway.pause_bars()
    yield gateway
    gateway.close()


async def _connect(port: int, client_id: int = 5) -> IB:
    ib = IB()
    await ib.connectAsync("127.0.0.1", port, clientId=client_id, timeout=5)
    return ib


def _errors(ib: IB) -> list[tuple[int, int]]:
    seen: list[tuple[int, int]] = []
    ib.errorEvent += lambda req_id, code, message, contract: seen.append((req_id, code))
    return seen


def test_connect_syncs_and_contracts_resolve_like_ib(fake):
    async def scenario():
        ib = await _connect(fake.port)
        try:
            assert ib.managedAccounts() == ["DU1234567"]
            cont = ContFuture("MES", "CME")
            await ib.qualifyContractsAsync(cont)
            listed = await ib.reqContractDetailsAsync(Future("MES", exchange="CME"))
            unknown = await ib.qualifyContractsAsync(Future("MES", "209912", "CME"))
            return cont, [d.contract.localSymbol for d in listed], unknown
        finally:
            ib.disconnect()

    cont, listed, unknown = asyncio.run(scenario())
    assert cont.secType == "CONTFUT" and cont.conId == fake.front_month().con_id
    assert listed == ["MESH5", "MESM5"] and unknown == [None]


def test_bracket_is_held_until_the_last_child_then_parent_fill_activates_children(fake):
    async def scenario():
        ib = await _connect(fake.port)
        try:
            fut = Future(conId=fake.front_month().con_id, exchange="CME")
            await ib.qualifyContractsAsync(fut)
            parent = MarketOrder("BUY", 1, transmit=False, orderRef="p")
            parent.orderId = ib.client.getReqId()
            target = LimitOrder("SELL", 1, 9000.0, transmit=False, parentId=parent.orderId,
                                orderRef="t")
            target.orderId = ib.client.getReqId()
            stop = StopOrder("SELL", 1, 5000.0, transmit=True, parentId=parent.orderId,
                             orderRef="s")
            stop.orderId = ib.client.getReqId()
            trades = [ib.placeOrder(fut, parent), ib.placeOrder(fut, target)]
            await asyncio.sleep(0.2)
            held = [t.orderStatus.status for t in trades]
            trades.append(ib.placeOrder(fut, stop))
            await asyncio.sleep(0.2)
            released = [t.orderStatus.status for t in trades]
            fake.call(fake.gateway.emit_bar)
            await asyncio.sleep(0.2)
            after_fill = [t.orderStatus.status for t in trades]
            fake.move_to(9001.0, bars=1)
            fake.call(fake.gateway.emit_bar)
            await asyncio.sleep(0.2)
            done = [t.orderStatus.status for t in trades]
            reports = [f.commissionReport for f in ib.fills()]
            return held, released, after_fill, done, reports, ib.positions()
        finally:
            ib.disconnect()

    held, released, after_fill, done, reports, positions = asyncio.run(scenario())
    assert held == ["PendingSubmit", "PendingSubmit"]
    assert released == ["Submitted", "PreSubmitted", "PreSubmitted"]
    assert after_fill == ["Filled", "Submitted", "Submitted"]
    assert done == ["Filled", "Filled", "Cancelled"]
    assert [r.commission for r in reports] == [0.57, 0.57]
    assert reports[0].realizedPNL == 0.0  # Java's unset double on the opening fill
    assert reports[1].realizedPNL > 0
    assert positions == [] or positions[0].position == 0


def test_orders_on_contfut_off_tick_prices_and_unknown_cancels_are_refused(fake):
    async def scenario():
        ib = await _connect(fake.port)
        errors = _errors(ib)
        try:
            cont = ContFuture("MES", "CME")
            await ib.qualifyContractsAsync(cont)
            ib.placeOrder(cont, MarketOrder("BUY", 1))
            fut = Future(conId=fake.front_month().con_id, exchange="CME")
            await ib.qualifyContractsAsync(fut)
            off_tick = ib.placeOrder(fut, LimitOrder("BUY", 1, 5000.1))
            ib.client.cancelOrder(99_999)
            await asyncio.sleep(0.3)
            return [code for _, code in errors], off_tick.orderStatus.status
        finally:
            ib.disconnect()

    codes, off_tick_status = asyncio.run(scenario())
    assert 321 in codes and 110 in codes and 10147 in codes
    assert off_tick_status == "Cancelled"
    assert not fake.placed_orders()


def test_a_client_id_in_use_gets_error_326_and_the_socket_closed(fake):
    squatter = hold_client_id(fake.port, 5)

    async def scenario():
        ib = IB()
        errors = _errors(ib)
        with pytest.raises((TimeoutError, ConnectionError)):
            await ib.connectAsync("127.0.0.1", fake.port, clientId=5, timeout=1)
        return [code for _, code in errors]

    try:
        assert 326 in asyncio.run(scenario())
    finally:
        squatter.close()
    assert fake.errors_sent(326) == 1


def test_a_scripted_delay_holds_every_reply(fake):
    fake.set_delay(0.25)

    async def scenario():
        ib = await _connect(fake.port)
        try:
            loop = asyncio.get_running_loop()
            started = loop.time()
            await ib.reqCurrentTimeAsync()
            return loop.time() - started
        finally:
            ib.disconnect()

    assert asyncio.run(scenario()) >= 0.25

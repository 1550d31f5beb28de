"""Run the fake gateway on its own event loop in a thread and script it from synchronous tests.

Every method hops onto the gateway's loop and waits for the result, so a test can say
``fake.breakout(4)`` or ``fake.restart(next_valid_id=1)`` between its polls of the bot's database.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from tests.fakeib.market import ListedFuture
from tests.fakeib.server import FakeGateway, GatewayConfig
from tests.fakeib.venue import FakeExecution, FakeOrder

T = TypeVar("T")
CALL_TIMEOUT_S = 30.0


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class FakeGatewayThread:
    """A FakeGateway living in a background thread; ``start`` begins listening."""

    def __init__(self, config: GatewayConfig | None = None) -> None:
        self.config = config or GatewayConfig()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fake-ib",
                                        daemon=True)
        self._thread.start()
        self.gateway: FakeGateway = self._run(self._create())

    async def _create(self) -> FakeGateway:
        return FakeGateway(self.config)

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(CALL_TIMEOUT_S)

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the gateway's loop and return its result."""
        async def wrapper() -> T:
            return fn()
        return self._run(wrapper())

    @property
    def port(self) -> int:
        return self.gateway.port

    def start(self) -> FakeGatewayThread:
        self._run(self.gateway.start())
        return self

    def close(self) -> None:
        """Stop the server and the thread."""
        self._run(self.gateway.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    # --- faults and scripting ---------------------------------------------------------------

    def restart(self, downtime_s: float = 0.2, next_valid_id: int | None = None) -> None:
        self._run(self.gateway.restart(downtime_s, next_valid_id))

    def stop_listening(self) -> None:
        self._run(self.gateway.stop_listening())

    def drop_connections(self) -> None:
        self.call(self.gateway.drop_connections)

    def reject_next_orders(self, count: int = 1) -> None:
        def set_count() -> None:
            self.gateway.venue.reject_next = count
        self.call(set_count)

    def reject_next_modifies(self, count: int = 1, code: int = 321, drops: bool = False) -> None:
        """Refuse the next ``count`` modifications of working orders with error ``code`` (321
        by default; 201 as IB's "Order rejected"); the order stays working, unchanged, unless
        ``drops``: then it is silently gone (no status message), the worst case for a client."""
        def set_count() -> None:
            self.gateway.venue.reject_next_modifies = count
            self.gateway.venue.modify_reject_code = code
            self.gateway.venue.modify_reject_drops = drops
        self.call(set_count)

    def set_delay(self, seconds: float) -> None:
        def set_delay() -> None:
            self.gateway.delay_s = seconds
        self.call(set_delay)

    def broadcast_error(self, code: int, message: str) -> None:
        self.call(lambda: self.gateway.broadcast_error(code, message))

    def breakout(self, points: float, volume: float = 5000.0) -> None:
        self.call(lambda: self.gateway.path.breakout(points, volume))

    def move_to(self, price: float, bars: int = 3) -> None:
        self.call(lambda: self.gateway.path.move_to(price, bars))

    def pause_bars(self, paused: bool = True) -> None:
        def set_paused() -> None:
            self.gateway.bars_paused = paused
        self.call(set_paused)

    def send_bulletin(self, msg_id: int, message: str, exchange: str = "",
                      msg_type: int = 1) -> None:
        self.call(lambda: self.gateway.send_bulletin(msg_id, message, exchange, msg_type))

    def send_news_tick(self, provider: str, article_id: str, headline: str, ts_ms: int,
                       extra: str = "") -> int:
        return self.call(lambda: self.gateway.send_news_tick(provider, article_id, headline,
                                                             ts_ms, extra))

    def news_subscribers(self) -> dict[str, int]:
        """Clients subscribed to bulletins ("bulletins") or to each provider's news ticks."""
        def count() -> dict[str, int]:
            found: dict[str, int] = {}
            for session in self.gateway.sessions:
                if not session.ready:
                    continue
                if session.news_bulletins:
                    found["bulletins"] = found.get("bulletins", 0) + 1
                for provider in session.news_subscriptions.values():
                    found[provider] = found.get(provider, 0) + 1
            return found
        return self.call(count)

    # --- what happened ----------------------------------------------------------------------

    def executions(self) -> list[FakeExecution]:
        return self.call(lambda: list(self.gateway.venue.executions))

    def placed_orders(self) -> list[FakeOrder]:
        """Every order ever accepted, in placement order (copies are not taken: read only)."""
        return self.call(lambda: list(self.gateway.venue.placed))

    def modifications(self) -> list[tuple[str, float | None]]:
        """(order ref, new stop or limit price) of every accepted modification of a working
        order, in order."""
        return self.call(lambda: list(self.gateway.venue.modifications))

    def working_orders(self) -> list[FakeOrder]:
        return self.call(lambda: [o for o in self.gateway.venue.orders.values() if o.active])

    def errors_sent(self, code: int) -> int:
        """How many requests were answered with an order error of ``code`` (from the log)."""
        return self.call(lambda: self.gateway.error_counts.get(code, 0))

    def front_month(self, symbol: str = "MES") -> ListedFuture:
        return self.call(lambda: self.gateway.futures(symbol)[0])

    def position(self, symbol: str = "MES") -> float:
        fut = self.front_month(symbol)
        return self.call(lambda: self.gateway.venue.signed_position(fut.con_id))

    def scripted_bars_left(self) -> int:
        return self.call(lambda: self.gateway.path.scripted_left)

    def last_price(self) -> float:
        return self.call(lambda: self.gateway.path.last_price)

    def connected_client_ids(self) -> list[int]:
        return self.call(lambda: [s.client_id for s in self.gateway.sessions
                                  if s.ready and s.client_id is not None])

    def requests(self, msg_id: str) -> list[tuple[int | None, list[str]]]:
        """Logged client requests with the given message id."""
        return self.call(lambda: [r for r in self.gateway.request_log if r[1][0] == msg_id])

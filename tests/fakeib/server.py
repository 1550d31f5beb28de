"""The fake IB Gateway: an asyncio TCP server speaking the TWS protocol to real API clients.

One ``ClientSession`` per socket does the handshake and answers requests; the ``FakeGateway``
owns the venue, the price path and the bar clock, and offers the scripted faults: drop every
connection, restart with nextValidId rolled back, reject orders, delay replies, broadcast error
codes, and refuse a clientId already in use (error 326, then close). News: bulletins (14) to
clients that asked with reqNewsBulletins (12), the day's earlier ones first when they asked for
all; news ticks (84) to NEWS-contract subscriptions with generic tick 292 of an entitled
provider (others get error 10276).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime

from tests.fakeib import wire
from tests.fakeib.market import PricePath, listed_futures
from tests.fakeib.requests import RequestHandlers
from tests.fakeib.venue import Venue

logger = logging.getLogger(__name__)

FARM_NOTICES = (
    (2104, "Market data farm connection is OK:usfarm"),
    (2106, "HMDS data farm connection is OK:ushmds"),
    (2158, "Sec-def data farm connection is OK:secdefil"),
)


@dataclass(frozen=True)
class GatewayConfig:
    """How the fake gateway starts (all knobs have test-friendly defaults)."""

    host: str = "127.0.0.1"
    port: int = 0
    account: str = "DU1234567"
    next_valid_id: int = 1
    seed: int = 7
    start: datetime = datetime(2025, 3, 3, 14, 30, tzinfo=UTC)
    start_price: float = 5800.0
    history_bars: int = 720
    bar_interval_s: float = 0.1
    start_paused: bool = False  # no bar until ``pause_bars(False)``: the clock waits for a client
    ids_before_accounts: bool = True
    commission_per_contract: dict[str, float] = field(
        default_factory=lambda: {"MES": 0.57, "ES": 2.07})
    news_providers: tuple[str, ...] = ("BRFG", "BRFUPDN")
    # History of each later quarterly is this many points above the one before (carry), so a
    # continuous series has known roll gaps; real-time bars are the price path as it is.
    contract_basis_points: float = 0.0


class ClientSession:
    """One API client connection: handshake, then request dispatch until the socket closes."""

    def __init__(self, gateway: FakeGateway, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter) -> None:
        self.gateway = gateway
        self.reader = reader
        self.writer = writer
        self.client_id: int | None = None
        self.ready = False
        self.bar_subscriptions: set[int] = set()
        self.tick_subscriptions: set[int] = set()
        self.news_subscriptions: dict[int, str] = {}
        self.news_bulletins = False
        self.handlers = RequestHandlers(gateway, self)
        self._pending: deque[list[str]] = deque()

    def send(self, fields: list[object]) -> None:
        if fields[0] == 4:
            code = int(str(fields[3]))
            self.gateway.error_counts[code] = self.gateway.error_counts.get(code, 0) + 1
        if not self.writer.is_closing():
            self.writer.write(wire.frame(fields))

    def close(self) -> None:
        self.writer.close()

    async def _read_frame(self, buffer: bytearray) -> list[str] | None:
        while not self._pending:
            chunk = await self.reader.read(65536)
            if not chunk:
                return None
            buffer += chunk
            self._pending.extend(wire.split_frames(buffer))
        return self._pending.popleft()

    async def run(self) -> None:
        buffer = bytearray()
        prefix = await self.reader.readexactly(4)
        if prefix != b"API\0":
            logger.warning("not an API client (prefix %r); closing", prefix)
            return
        versions = await self._read_frame(buffer)
        if not versions or not self._accept_versions(versions[0]):
            return
        self.send(wire.handshake_reply(datetime.now(UTC)))
        while True:
            fields = await self._read_frame(buffer)
            if fields is None:
                return
            if self.gateway.delay_s:
                await asyncio.sleep(self.gateway.delay_s)
            self.gateway.request_log.append((self.client_id, fields))
            if fields[0] == "71":
                if not self._start_api(int(fields[2])):
                    await self.writer.drain()
                    return
                continue
            try:
                self.handlers.handle(fields)
            except (ValueError, IndexError, KeyError) as exc:
                logger.warning("bad request %s: %s", fields[:3], exc)
                self.send(wire.error(-1, 321, f"Error validating request: {exc}"))

    def _accept_versions(self, text: str) -> bool:
        span = text.split()[0].lstrip("v")
        low, _, high = span.partition("..")
        version = min(int(high or low), wire.SERVER_VERSION)
        if version < max(int(low), wire.MIN_CLIENT_VERSION):
            logger.warning("client versions %s not supported", text)
            return False
        return True

    def _start_api(self, client_id: int) -> bool:
        gateway = self.gateway
        taken = any(s is not self and s.client_id == client_id and s.ready
                    for s in gateway.sessions)
        if taken or client_id in gateway.refused_client_ids:
            self.send(wire.error(-1, 326, "Unable to connect as the client id is already in "
                                          "use. Retry with a unique client id."))
            self.close()
            return False
        self.client_id = client_id
        self.ready = True
        ids = [9, 1, gateway.next_valid_id]
        accounts = [15, 1, gateway.config.account]
        for message in ([ids, accounts] if gateway.config.ids_before_accounts
                        else [accounts, ids]):
            self.send(message)
        for code, text in FARM_NOTICES:
            self.send(wire.error(-1, code, text))
        return True


class FakeGateway:
    """The server, its venue and its bar clock; methods here are the scriptable faults."""

    def __init__(self, config: GatewayConfig) -> None:
        self.config = config
        self.path = PricePath(config.seed, config.start, config.start_price, config.history_bars)
        self.venue = Venue(config.account, dict(config.commission_per_contract), self._deliver)
        self.sessions: list[ClientSession] = []
        self.next_valid_id = config.next_valid_id
        self.refused_client_ids: set[int] = set()
        self.delay_s = 0.0
        self.bars_paused = config.start_paused
        self.request_log: list[tuple[int | None, list[str]]] = []
        self.history_requests: dict[tuple, float] = {}
        self.error_counts: dict[int, int] = {}
        self.news_providers = set(config.news_providers)
        self.bulletins: list[list[object]] = []
        self.port = config.port
        self._server: asyncio.base_events.Server | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def futures(self, symbol: str, include_expired: bool = False):
        return listed_futures(symbol, self.path.now.date(), include_expired)

    async def start(self) -> None:
        """Listen (on the configured port, or a free one the first time) and start the clock."""
        self._server = await asyncio.start_server(self._accept, self.config.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        if self._ticker is None:
            self._ticker = asyncio.create_task(self._tick_forever())
        logger.info("fake gateway listening on %s:%d", self.config.host, self.port)

    async def stop_listening(self) -> None:
        """Close the listening socket and every client connection (the venue stays)."""
        if self._server is not None:
            self._server.close()
            self.drop_connections()
            await self._server.wait_closed()
            self._server = None

    async def close(self) -> None:
        await self.stop_listening()
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None

    async def restart(self, downtime_s: float = 0.2, next_valid_id: int | None = None) -> None:
        """Simulate a gateway restart: drop everyone, stay down a while, come back."""
        await self.stop_listening()
        if next_valid_id is not None:
            self.next_valid_id = next_valid_id
        await asyncio.sleep(downtime_s)
        await self.start()

    def drop_connections(self) -> None:
        for session in list(self.sessions):
            session.writer.transport.abort()

    def broadcast_error(self, code: int, message: str, req_id: int = -1) -> None:
        for session in self.sessions:
            if session.ready:
                session.send(wire.error(req_id, code, message))

    def send_bulletin(self, msg_id: int, message: str, exchange: str = "",
                      msg_type: int = 1) -> None:
        """A news bulletin (14) to every subscribed client; kept for later allMsgs requests."""
        fields: list[object] = [14, 1, msg_id, msg_type, message, exchange]
        self.bulletins.append(fields)
        for session in self.sessions:
            if session.ready and session.news_bulletins:
                session.send(fields)

    def send_news_tick(self, provider: str, article_id: str, headline: str, ts_ms: int,
                       extra: str = "") -> int:
        """A tickNews (84) to every subscription of ``provider``; return how many got it."""
        sent = 0
        for session in self.sessions:
            for req_id, code in session.news_subscriptions.items():
                if session.ready and code == provider:
                    session.send([84, req_id, ts_ms, provider, article_id, headline, extra])
                    sent += 1
        return sent

    def _deliver(self, client_id: int | None, fields: list[object]) -> None:
        for session in self.sessions:
            if session.ready and (client_id is None or session.client_id == client_id):
                session.send(fields)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = ClientSession(self, reader, writer)
        self.sessions.append(session)
        try:
            await session.run()
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            logger.info("client %s went away: %r", session.client_id, exc)
        finally:
            self.sessions.remove(session)
            session.close()

    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(self.config.bar_interval_s)
            if not self.bars_paused:
                self.emit_bar()

    def emit_bar(self) -> None:
        """Advance the market one 5-second bar: match orders, then stream the bar."""
        bar = self.path.next_bar()
        self.venue.on_bar(bar)
        for session in self.sessions:
            if not session.ready:
                continue
            for req_id in session.bar_subscriptions:
                session.send(wire.realtime_bar(req_id, bar.ts, bar.open, bar.high, bar.low,
                                               bar.close, bar.volume))
            for req_id in session.tick_subscriptions:
                session.send([1, 6, req_id, 4, bar.close, 1, 0])

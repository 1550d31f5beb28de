"""IB news for the news program: bulletins and the broadtape headlines the account may receive.

Its own connection (``news.ib_client_id``, read-only, no startup downloads), so the trading
session is never touched. Bulletins come from ``reqNewsBulletins`` (message 12; IB answers with
updateNewsBulletin, message 14, and re-sends the day's bulletins after a reconnect - the store
drops those duplicates). Each configured provider code subscribes a NEWS contract with generic
tick 292 (message 84, tickNews). A lost connection is retried with the IB backoff settings.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime

from ib_async import IB, Contract, NewsBulletin, NewsTick, StartupFetch

from bot.ports import HeadlineSink, ProblemSink, wall_clock_utc
from shared.config.settings import IbConfig
from shared.domain.news import Headline, clean_headline

logger = logging.getLogger(__name__)

BULLETIN_SOURCE = "ib:bulletin"
NEWS_TICK = "mdoff,292"
_TAG = re.compile(r"<[^>]+>")
_METADATA = re.compile(r"^\s*\{[^}]*\}")  # e.g. {A:800015:L:en:K:-0.97:C:0.99} before the text


def news_contract(provider: str) -> Contract:
    """The broadtape NEWS contract of one provider (all of its headlines)."""
    return Contract(secType="NEWS", exchange=provider, symbol=f"{provider}:{provider}_ALL")


def bulletin_headline(bulletin: NewsBulletin, received_at: datetime) -> Headline | None:
    """A headline from a news bulletin (HTML tags removed), or None when it is empty."""
    text = clean_headline(_TAG.sub(" ", bulletin.message or ""))
    if not text:
        return None
    return Headline(BULLETIN_SOURCE, text, received_at)


def tick_headline(tick: NewsTick, received_at: datetime) -> Headline | None:
    """A headline from a news tick (its metadata prefix removed), or None when it is empty."""
    text = clean_headline(_METADATA.sub("", tick.headline or ""))
    if not text:
        return None
    published = None
    if tick.timeStamp:
        with contextlib.suppress(OverflowError, OSError, ValueError):
            published = datetime.fromtimestamp(tick.timeStamp / 1000, UTC)
    return Headline(f"ib:{tick.providerCode or 'news'}", text, received_at, published,
                    tick.articleId or "")


class IbNewsSource:
    """Connects, subscribes, and emits every bulletin and news tick until stopped."""

    name = "ib"

    def __init__(self, cfg: IbConfig, client_id: int, bulletins: bool, providers: list[str],
                 clock: Callable[[], datetime] = wall_clock_utc) -> None:
        self.cfg = cfg
        self.client_id = client_id
        self.bulletins = bulletins
        self.providers = list(providers)
        self.clock = clock
        self.connections = 0

    async def run(self, emit: HeadlineSink, report: ProblemSink, stop: asyncio.Event) -> None:
        """Stay connected (with backoff) and emit headlines until ``stop`` is set."""
        delay_s = self.cfg.reconnect_initial_s
        where = f"{self.cfg.host}:{self.cfg.port} (client id {self.client_id})"
        while not stop.is_set():
            ib = IB()
            lost = asyncio.Event()
            ib.disconnectedEvent += lost.set
            try:
                await ib.connectAsync(self.cfg.host, self.cfg.port, clientId=self.client_id,
                                      timeout=self.cfg.connect_timeout_s, readonly=True,
                                      fetchFields=StartupFetch(0))
            except (OSError, TimeoutError, ConnectionError) as exc:
                ib.disconnect()
                report(self.name, f"cannot connect to IB at {where} for news: "
                                  f"{exc or type(exc).__name__}; retrying in {delay_s:g} s")
                await self._wait(stop, delay_s)
                delay_s = min(delay_s * 2, self.cfg.reconnect_max_s)
                continue
            delay_s = self.cfg.reconnect_initial_s
            self.connections += 1
            self._subscribe(ib, emit, report)
            logger.info("IB news connected at %s: bulletins %s, providers %s", where,
                        "on" if self.bulletins else "off", ", ".join(self.providers) or "none")
            stopped = asyncio.ensure_future(stop.wait())
            dropped = asyncio.ensure_future(lost.wait())
            await asyncio.wait({stopped, dropped}, return_when=asyncio.FIRST_COMPLETED)
            for waiter in (stopped, dropped):
                waiter.cancel()
            ib.disconnect()
            if not stop.is_set():
                report(self.name, f"lost the IB news connection at {where}; reconnecting in "
                                  f"{delay_s:g} s")
                await self._wait(stop, delay_s)

    def _subscribe(self, ib: IB, emit: HeadlineSink, report: ProblemSink) -> None:
        requests: dict[int, str] = {}

        def on_error(req_id: int, code: int, message: str, contract: object) -> None:
            if req_id in requests:  # e.g. 10276: the account is not entitled to this feed
                report(f"ib:{requests[req_id]}", f"IB {code}: {message}")

        def on_bulletin(bulletin: NewsBulletin) -> None:
            headline = bulletin_headline(bulletin, self.clock())
            if headline is not None:
                emit([headline])

        def on_tick(tick: NewsTick) -> None:
            headline = tick_headline(tick, self.clock())
            if headline is not None:
                emit([headline])

        if self.bulletins:
            ib.newsBulletinEvent += on_bulletin
            ib.reqNewsBulletins(True)
        if self.providers:
            ib.tickNewsEvent += on_tick
            ib.errorEvent += on_error
            for provider in self.providers:
                # The low-level request: ib_async's reqMktData needs a conId to key its
                # Ticker, which a NEWS contract lacks; tickNews does not use a Ticker.
                req_id = ib.client.getReqId()
                requests[req_id] = provider
                ib.client.reqMktData(req_id, news_contract(provider), NEWS_TICK, False, False,
                                     [])

    @staticmethod
    async def _wait(stop: asyncio.Event, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), seconds)

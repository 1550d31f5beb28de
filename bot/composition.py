"""The composition root: which adapter plays each port of the live loop.

``broker.mode`` picks the broker: the built-in paper broker (its bars come from the synthetic or
replay feed) or Interactive Brokers (whose session also streams the bars). The ``news`` section
picks the headline sources and the scorer of the news program. Only this module and the
backtester choose adapters; the loop and the decision core see the ports alone.
"""

from __future__ import annotations

import sqlite3
from datetime import timedelta

from bot.adapters.paper_broker import PaperBroker
from bot.ports import BarStream, Broker, HeadlineSource, SentimentScorer, wall_clock_utc
from bot.runtime.live import BrokerContext, BrokerFactory
from shared.config.settings import Settings
from shared.domain.instruments import get_instrument
from shared.domain.models import Mode


def paper_broker(context: BrokerContext) -> tuple[Broker, BarStream | None]:
    """The built-in paper broker; its bars come from the feed (synthetic or replay)."""
    settings = context.settings
    broker = PaperBroker(
        get_instrument(settings.instrument.symbol), context.commission_cents,
        settings.broker.paper_slippage_ticks, context.working_orders, context.saved_position,
    )
    return broker, None


def ib_broker(context: BrokerContext) -> tuple[Broker, BarStream | None]:
    """The IB broker and its session, which also streams IB's real-time bars."""
    from bot.adapters.ib.session import open_ib  # the only path that loads ib_async

    return open_ib(
        context.settings, context.conn, context.working_orders, context.saved_position,
        context.commission_cents, context.engine_now, context.last_bar_ts,
    )


def broker_factory(settings: Settings) -> BrokerFactory:
    """Pick the broker adapter for ``broker.mode``."""
    return paper_broker if settings.broker.mode is Mode.PAPER else ib_broker


def news_sources(settings: Settings) -> list[HeadlineSource]:
    """The headline sources the ``news`` config asks for (RSS feeds, IB news)."""
    cfg = settings.news
    sources: list[HeadlineSource] = []
    if cfg.rss_urls:
        from bot.adapters.news.rss import RssPoller  # feedparser loads only when configured

        sources.append(RssPoller(cfg.rss_urls, cfg.rss_poll_seconds, cfg.rss_timeout_s,
                                 cfg.rss_max_bytes, timedelta(minutes=cfg.rss_max_age_minutes)))
    if cfg.ib_bulletins or cfg.ib_providers:
        from bot.adapters.ib.news import IbNewsSource  # ib_async loads only when configured

        sources.append(IbNewsSource(settings.ib, cfg.ib_client_id, cfg.ib_bulletins,
                                    cfg.ib_providers))
    return sources


def news_scorers(
    settings: Settings, conn: sqlite3.Connection
) -> tuple[SentimentScorer, SentimentScorer | None]:
    """The configured scorer and its fallback (VADER behind Comprehend, when allowed)."""
    from bot.adapters.news.vader import VaderScorer

    if settings.news.scorer == "vader":
        return VaderScorer(), None
    from bot.llm.comprehend import ComprehendScorer  # boto3 loads only when configured

    scorer = ComprehendScorer(conn, settings.news, settings.llm, wall_clock_utc)
    return scorer, VaderScorer() if settings.news.comprehend_fallback_vader else None

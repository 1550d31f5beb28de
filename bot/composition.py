"""The composition root: which adapter plays each port of the live loop.

``broker.mode`` picks the broker: the built-in paper broker (its bars come from the synthetic or
replay feed) or Interactive Brokers (whose session also streams the bars). Only this module and
the backtester choose adapters; the loop and the decision core see the ports alone.
"""

from __future__ import annotations

from bot.adapters.paper_broker import PaperBroker
from bot.ports import BarStream, Broker
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

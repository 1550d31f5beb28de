"""Bars that arrive on their own (a broker's real-time feed) rather than from an iterator.

A ``BarStream`` hands the live loop history (indicator warm-up only) and live bars, plus notices
to journal (connection transitions, rejections, reconciliation findings). ``play_stream`` is the
live loop's consumer: no decision is made while the stream says trading is not ready. It yields
to the event loop after every bar, so a backlog (history, a burst after a reconnect) never keeps
the SIGTERM handler from running, and it stops between two bars once a stop is requested.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from shared.models import Bar

if TYPE_CHECKING:
    from bot.live import LiveBot


@dataclass(frozen=True, slots=True)
class StreamNotice:
    """Something for the ``events`` table: kind, severity, message and details."""

    kind: str
    severity: str
    message: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StreamItem:
    """Bars in time order; ``live`` False means history for the indicator window only."""

    bars: tuple[Bar, ...]
    live: bool


class BarStream(Protocol):
    """What ``play_stream`` needs from a feed that pushes bars."""

    fatal: str | None

    @property
    def trading_ready(self) -> bool: ...

    async def start(self) -> None: ...

    async def next_item(self, timeout_s: float) -> StreamItem | None: ...

    def drain_notices(self) -> list[StreamNotice]: ...

    def needs_reconcile(self) -> bool: ...

    async def close(self) -> None: ...


async def play_stream(bot: LiveBot, stream: BarStream) -> None:
    """Feed the stream's bars to the engine until a stop is requested or the stream fails."""
    await stream.start()
    try:
        while not bot.stop_requested.is_set() and stream.fatal is None:
            item = await stream.next_item(bot.settings.engine.commands_poll_seconds)
            journal_notices(bot, stream.drain_notices())
            if stream.needs_reconcile():
                for message in bot.engine.reconcile(bot.engine_now()):
                    bot.record_notice(StreamNotice("reconcile", "warning", message))
            if item is not None:
                await play_item(bot, stream, item)
            bot.service()
        journal_notices(bot, stream.drain_notices())
    finally:
        await stream.close()


async def play_item(bot: LiveBot, stream: BarStream, item: StreamItem) -> None:
    """Process one item's bars, yielding after each; stop between bars when asked."""
    for bar in item.bars:
        if bot.stop_requested.is_set():
            return
        bot.process_bar(bar, decide=item.live and stream.trading_ready)
        if bot.max_bars_reached():
            bot.request_stop()
            return
        await asyncio.sleep(0)


def journal_notices(bot: LiveBot, notices: list[StreamNotice]) -> None:
    """Write notices as events; a connection change also forces a heartbeat."""
    for notice in notices:
        bot.record_notice(notice)
    if notices:
        bot.service(force_heartbeat=True)

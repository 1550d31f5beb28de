"""Play a pushed bar stream (a broker's real-time feed) into the live loop.

A ``BarStream`` hands the loop history (indicator warm-up only) and live bars, plus notices to
journal (connection transitions, rejections, reconciliation findings). ``play_stream`` drives a
narrow ``StreamConsumer`` (the live bot): no decision is made while the stream says trading is
not ready. It yields to the event loop after every bar, so a backlog (history, a burst after a
reconnect) never keeps the SIGTERM handler from running, and it stops between two bars once a
stop is requested.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from bot.ports import BarStream, StreamItem, StreamNotice
from shared.domain.models import Bar


class StreamConsumer(Protocol):
    """What ``play_stream`` needs from the live loop."""

    def stopping(self) -> bool: ...

    def poll_seconds(self) -> float: ...

    def reconcile(self) -> list[str]: ...

    def record_notice(self, notice: StreamNotice) -> None: ...

    def process_bar(self, bar: Bar, decide: bool = True) -> None: ...

    def max_bars_reached(self) -> bool: ...

    def request_stop(self) -> None: ...

    def service(self, force_heartbeat: bool = False, status: str = "running") -> None: ...


async def play_stream(consumer: StreamConsumer, stream: BarStream) -> None:
    """Feed the stream's bars to the consumer until a stop is requested or the stream fails."""
    await stream.start()
    try:
        while not consumer.stopping() and stream.fatal is None:
            item = await stream.next_item(consumer.poll_seconds())
            journal_notices(consumer, stream.drain_notices())
            if stream.needs_reconcile():
                for message in consumer.reconcile():
                    consumer.record_notice(StreamNotice("reconcile", "warning", message))
            if item is not None:
                await play_item(consumer, stream, item)
            consumer.service()
        journal_notices(consumer, stream.drain_notices())
    finally:
        await stream.close()


async def play_item(consumer: StreamConsumer, stream: BarStream, item: StreamItem) -> None:
    """Process one item's bars, yielding after each; stop between bars when asked."""
    for bar in item.bars:
        if consumer.stopping():
            return
        consumer.process_bar(bar, decide=item.live and stream.trading_ready)
        if consumer.max_bars_reached():
            consumer.request_stop()
            return
        await asyncio.sleep(0)


def journal_notices(consumer: StreamConsumer, notices: list[StreamNotice]) -> None:
    """Write notices as events; a connection change also forces a heartbeat."""
    for notice in notices:
        consumer.record_notice(notice)
    if notices:
        consumer.service(force_heartbeat=True)

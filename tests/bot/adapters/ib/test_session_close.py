"""Closing the IB session ends its task even when a cancellation is swallowed.

Python 3.11's ``asyncio.wait_for`` returns normally when the cancel that should end it lands
as its inner wait completes; the session task then kept serving and ``close()`` waited for it
for ever (a CI hang). The session under test stands in for that one await: its serve step
swallows the first cancel exactly as that race does, then keeps serving as the real one did.
"""

from __future__ import annotations

import asyncio

from bot.adapters.ib.session import open_ib
from shared.config.settings import Settings

CLOSE_LIMIT_S = 10.0


def test_close_ends_a_session_whose_task_swallowed_the_first_cancel(conn):
    settings = Settings.model_validate({"broker": {"mode": "ib_paper"}})
    _, session = open_ib(settings, conn, [], None, 62, lambda: None, lambda: None)
    serving = asyncio.Event()
    swallowed: list[int] = []

    async def connected() -> None:
        return None

    async def serve_swallowing_one_cancel() -> None:
        serving.set()
        while True:
            try:
                await asyncio.sleep(0.01)
            except asyncio.CancelledError:
                if swallowed:
                    raise
                swallowed.append(1)  # as 3.11's wait_for does when its inner wait ends too

    session._connect = connected
    session._serve = serve_swallowing_one_cancel

    async def scenario() -> tuple[bool, bool]:
        await session.start()
        await asyncio.wait_for(serving.wait(), CLOSE_LIMIT_S)
        closing = asyncio.ensure_future(session.close())
        await asyncio.wait({closing}, timeout=CLOSE_LIMIT_S)  # left alone: a cancel would help it
        closed = closing.done()
        closing.cancel()
        await asyncio.wait({closing})
        return closed, session._task.done()

    assert asyncio.run(scenario()) == (True, True)
    assert swallowed == [1]

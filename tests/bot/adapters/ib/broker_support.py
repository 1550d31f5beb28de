"""What the IbBroker tests against the fake gateway share: their config and an async wait."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from shared.config.ib_gateway import RestartWindowConfig
from shared.config.settings import IbConfig

WAIT_S = 30.0
# The broker's clock is the wall clock: without this, a run inside IB's nightly restart window
# (23:45 New York, entries paused around it) refuses the entry these tests need.
NO_RESTART_WINDOW = RestartWindowConfig(enabled=False)


def ib_config(port: int) -> IbConfig:
    """The gateway's port, and no restart window (see NO_RESTART_WINDOW)."""
    return IbConfig(port=port, restart_window=NO_RESTART_WINDOW)


async def until(probe: Callable[[], Any], what: str) -> Any:
    """Poll ``probe`` on the running loop until it returns something truthy (or fail)."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if found := probe():
            return found
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")

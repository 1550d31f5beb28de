"""Helpers for IB integration tests: configs, waiting for the bot's IB state, the fake's view."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shared.persistence import journal_store, ops_store
from tests.fakeib.control import FakeGatewayThread
from tests.integration.botproc import heartbeat, query, wait_for, write_config

BREAKOUT_POINTS = 8.0  # clearly beyond the upper Bollinger band whatever the noise


def ib_config(folder: Path, port: int, name: str = "ib.yaml", **sections: Any) -> Path:
    """A test config: IB paper on ``port``, short backoffs, breakout-only, fast heartbeats."""
    config: dict[str, Any] = {
        "broker": {"mode": "ib_paper"},
        "ib": {"port": port, "client_id": 17, "connect_timeout_s": 3,
               "reconnect_initial_s": 0.2, "reconnect_max_s": 1.0, "commission_wait_s": 1.0,
               "bar_timeout_s": 5,
               # These tests run on the wall clock: the nightly window must not change them.
               "restart_window": {"enabled": False}},
        "features": {"window_bars": 120, "atr_baseline_bars": 100},
        "strategies": {"weights": {"breakout": 1.0}},
        # The fake's 5-second walk is about twice as volatile as ES: two one-minute ATRs keep
        # a breakout's stop (~10 points) inside the $100 risk of one contract.
        "risk": {"cooldown_after_loss_minutes": 0, "max_hold_minutes": 600,
                 "atr_stop_multiplier": 2.0},
        "engine": {"heartbeat_seconds": 0.2, "commands_poll_seconds": 0.05},
    }
    for section, values in sections.items():
        config[section] = {**config.get(section, {}), **values}
    return write_config(folder, name, config)


def events(db: Path, kind: str) -> list[ops_store.EventRow]:
    """Events of one kind, oldest first."""
    rows = query(db, ops_store.recent_events, 10_000) or []
    return [e for e in reversed(rows) if e.kind == kind]


def wait_trading(db: Path, process, log: Path, after_bars: int = 2) -> dict[str, Any]:
    """Wait until the bot is connected and has decided on a few live bars."""
    return wait_for(
        lambda: (h := heartbeat(db)) and h.broker_connected == 1
        and h.bars_processed >= after_bars and h, 60, "a connected, trading bot",
        process, log)


def breakout_until(fake: FakeGatewayThread, probe, what: str, process, log: Path,
                   tries: int = 4):
    """Script breakouts until ``probe`` is truthy (a strategy may decline one: it is a filter)."""
    for _ in range(tries):
        fake.breakout(BREAKOUT_POINTS)
        try:
            return wait_for(probe, 6, what, process, log)
        except AssertionError as exc:
            if "exited" in str(exc):
                raise
    raise AssertionError(f"{tries} breakouts did not lead to {what}\n{log.read_text()[-3000:]}")


def enter_long(fake: FakeGatewayThread, db: Path, process, log: Path, brackets: int = 1):
    """Script breakouts until bracket number ``brackets`` is filled at the fake."""
    def filled_entries():
        entries = [o for o in fake.placed_orders()
                   if o.order_ref.endswith("-entry") and o.status == "Filled"]
        return entries if len(entries) >= brackets else None

    return breakout_until(fake, filled_entries, f"entry #{brackets} filled", process, log)


def bracket_orders(fake: FakeGatewayThread, bracket_id: str) -> dict[str, Any]:
    """The fake's orders of one bracket by role suffix."""
    return {o.order_ref.rsplit("-", 1)[1]: o for o in fake.placed_orders()
            if o.order_ref.startswith(bracket_id)}


def journal_fills(db: Path) -> list[tuple]:
    """(fill_id, order_id, contracts, price, commission_cents) of every journaled fill."""
    return sorted((f["fill_id"], f["order_id"], f["contracts"], f["price"],
                   f["commission_cents"]) for f in query(db, journal_store.all_fills) or [])


def fake_fills(fake: FakeGatewayThread) -> list[tuple]:
    """The same tuple for every execution at the fake."""
    return sorted((e.exec_id, e.order.order_ref, int(e.shares), e.price,
                   round(e.commission * 100)) for e in fake.executions())

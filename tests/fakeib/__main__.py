"""CLI: ``python -m tests.fakeib --port 4002`` serves the fake gateway until Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
from datetime import datetime

from tests.fakeib.server import FakeGateway, GatewayConfig

logger = logging.getLogger("tests.fakeib")


def build_parser() -> argparse.ArgumentParser:
    """The command-line options (each maps to a GatewayConfig field)."""
    parser = argparse.ArgumentParser(prog="python -m tests.fakeib", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4002)
    parser.add_argument("--account", default="DU1234567")
    parser.add_argument("--next-valid-id", type=int, default=1)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--start", default="2025-03-03T14:30:00+00:00",
                        help="simulated time of the first live bar (ISO-8601 with offset)")
    parser.add_argument("--price", type=float, default=5800.0)
    parser.add_argument("--history-bars", type=int, default=720)
    parser.add_argument("--bar-interval", type=float, default=5.0,
                        help="wall seconds between 5-second bars (5 = real time)")
    return parser


async def serve(config: GatewayConfig) -> None:
    """Serve until cancelled."""
    gateway = FakeGateway(config)
    await gateway.start()
    logger.info("fake IB gateway on %s:%d (account %s)", config.host, gateway.port,
                config.account)
    try:
        await asyncio.Event().wait()
    finally:
        await gateway.close()


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    args = build_parser().parse_args(argv)
    config = GatewayConfig(
        host=args.host, port=args.port, account=args.account, next_valid_id=args.next_valid_id,
        seed=args.seed, start=datetime.fromisoformat(args.start), start_price=args.price,
        history_bars=args.history_bars, bar_interval_s=args.bar_interval,
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(config))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Benchmark the dashboard: server-side run time of each page on a week of 5-second bars and
10,000 trades. Builds the database in a temp folder, runs every page with Streamlit's AppTest
(the script runs exactly as on the server, without a browser) and prints the timings.
Usage: ``python benchmarks/bench_pages.py``.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.adapters.feeds.synthetic import SyntheticMarket  # noqa: E402
from shared.domain.models import ExitReason, Side, TradeRecord  # noqa: E402
from shared.persistence import journal_store, ops_store  # noqa: E402
from shared.persistence.db import open_database, write_transaction  # noqa: E402

WEEK_START = datetime(2025, 3, 2, 23, 0, tzinfo=UTC)  # Sunday 17:00 CT
TRADES = 10_000
PAGES = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "app_pages").glob("*.py"))
RUNS = 3


def fill_database(path: Path) -> tuple[int, int]:
    """A week of synthetic 5-second bars and 10,000 trades spread over it."""
    conn = open_database(path)
    week_end = WEEK_START + timedelta(days=5)
    bars = [b for b in islice(SyntheticMarket(7, WEEK_START, 5000.0).iter_bars(), 90_000)
            if b.ts < week_end]
    reasons = list(ExitReason)
    trades = []
    step = len(bars) // TRADES
    for i in range(TRADES):
        entry, exit_ = bars[i * step], bars[i * step + step // 2]
        side = Side.LONG if i % 2 else Side.SHORT
        gross = round((exit_.close - entry.close) * side.sign * 4) * 125
        trades.append(TradeRecord(
            f"MES-{i:05d}", "MES", side, 1, entry.ts, entry.close, exit_.ts, exit_.close,
            reasons[i % len(reasons)], gross, 124, gross - 124,
            {"trend": ("trend_up", "range", "trend_down")[i % 3], "volatility": "normal",
             "time_bucket": ("overnight", "open", "midday", "close")[i % 4], "bias": "neutral"},
        ))
    now = datetime.now(UTC)
    with write_transaction(conn):
        journal_store.insert_bars(conn, "MES", bars)
        for trade in trades:
            journal_store.insert_trade(conn, trade, now)
        ops_store.upsert_bot_state(conn, ops_store.Heartbeat(
            heartbeat_at=now, last_bar_ts=bars[-1].ts, pid=1, mode="paper",
            broker_connected=True, symbol="MES", equity_cents=2_500_000,
            bars_processed=len(bars), status="running", last_price=bars[-1].close,
            max_trades_per_day=10, max_consecutive_losses=3, daily_loss_limit_cents=30_000,
        ))
    conn.close()
    return len(bars), len(trades)


def main() -> None:
    from streamlit.testing.v1 import AppTest

    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "trader.db"
        bars, trades = fill_database(db)
        os.environ["TRADER_DB"] = str(db)
        os.environ["TRADER_CONFIG"] = str(Path(folder) / "config.yaml")
        os.environ["SUPERVISOR_URL"] = f"unix://{folder}/none.sock"
        print(f"database: {bars:,} five-second bars (one Globex week), {trades:,} trades")
        for page in PAGES:
            timings = []
            for _ in range(RUNS):
                app = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120)
                app.run()
                started = time.perf_counter()
                app.switch_page(page).run()
                timings.append(time.perf_counter() - started)
                if app.exception:
                    raise SystemExit(f"{page} raised: {app.exception}")
            print(f"{page:22s} median {statistics.median(timings) * 1000:7.0f} ms  "
                  f"max {max(timings) * 1000:7.0f} ms  (target <= 1000 ms)")


if __name__ == "__main__":
    main()

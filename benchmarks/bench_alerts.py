"""Benchmark: the live loop's per-bar latency with the alerter running and Telegram hanging, vs
no alerter at all.

Runs the real ``LiveBot`` (paper broker, synthetic feed, SQLite journal) over the same bars,
alternating: without alerts, then with ``python -m bot alerts`` running as its own process on the
same database, every alert kind ``on`` (stop moves included), Telegram pointed at a stand-in
that never answers (a dead channel) and Slack at one that answers at once. Prints p50/p99/max
per run and how many alerts the alerter raised; asserts nothing.
Usage: ``python benchmarks/bench_alerts.py [bars] [rounds]``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.composition import paper_broker  # noqa: E402
from bot.runtime.live import LiveBot  # noqa: E402
from shared.config.settings import settings_from_mapping  # noqa: E402
from shared.domain.alerts import AlertKind  # noqa: E402
from shared.persistence import alerts_store  # noqa: E402
from shared.persistence.db import connect, open_database  # noqa: E402
from tests.fakechat.server import FakeChatServer  # noqa: E402

TOKEN = "123456789:BENCHbenchBENCHbench"


def config(telegram: FakeChatServer, slack: FakeChatServer, bars: int) -> dict:
    every_kind_on = {kind.value: "on" for kind in AlertKind}
    return {
        "feed": {"start": "2025-03-03T14:30:00Z", "speed": 1_000_000, "max_bars": bars},
        "risk": {"max_hold_minutes": 10, "max_trades_per_day": 400,
                 "cooldown_after_loss_minutes": 1},
        "engine": {"heartbeat_seconds": 1.0},
        "alerts": {"telegram_api_url": telegram.url, "slack_webhook_url": slack.url + "/services",
                   "telegram": every_kind_on, "slack": every_kind_on, "poll_seconds": 0.1,
                   "send_timeout_s": 120, "per_minute": {"telegram": 1000, "slack": 1000}},
    }


def start_alerter(config_path: Path, db: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "ALERT_TELEGRAM_URL": f"tgram://{TOKEN}/-1001",
           "ALERT_SLACK_URL": "https://hooks.slack.com/services/TB/BB/SECRET"}
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "alerts", "--config", str(config_path), "--db",
             str(db)], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # ready once it has reported its channels
        conn = connect(db, readonly=True)
        try:
            if alerts_store.channel_statuses(conn):
                return process
        except Exception:  # the schema may not exist yet
            pass
        finally:
            conn.close()
        time.sleep(0.1)
    raise RuntimeError(f"the alerter did not start:\n{log.read_text()[-2000:]}")


def run_bot(data: dict, db: Path) -> tuple[np.ndarray, float]:
    settings = settings_from_mapping(data, env={})
    bot = LiveBot(settings, db, "benchmark", paper_broker)
    started = time.perf_counter()
    asyncio.run(bot.run())
    elapsed_s = time.perf_counter() - started
    return np.array(bot.bar_latencies_ms)[settings.features.window_bars:], elapsed_s


def one_run(folder: Path, data: dict, with_alerts: bool, label: str) -> None:
    name = "".join(ch if ch.isalnum() else "_" for ch in label)
    db = folder / f"{name}.db"
    open_database(db).close()
    alerter = None
    if with_alerts:
        path = folder / f"{name}.yaml"
        path.write_text(yaml.safe_dump(data), encoding="utf-8")
        alerter = start_alerter(path, db, folder / "alerts.log")
    try:
        latencies, elapsed_s = run_bot(data, db)
        time.sleep(1.0)  # let the alerter read the last bars before it is stopped
    finally:
        if alerter is not None:
            alerter.send_signal(signal.SIGTERM)
            alerter.wait(timeout=30)
    conn = connect(db, readonly=True)
    deliveries = alerts_store.recent_deliveries(conn, 1_000_000)
    raised, sent = len(deliveries), len([d for d in deliveries if d.status == "sent"])
    conn.close()
    extra = f"  alerts raised {raised} (sent {sent}; Telegram hanging)" if with_alerts else ""
    print(f"{label:<22} bars {len(latencies):>5}  p50 {np.percentile(latencies, 50):6.3f} ms  "
          f"p99 {np.percentile(latencies, 99):6.3f} ms  max {latencies.max():7.3f} ms  "
          f"{len(latencies) / elapsed_s:7.0f} bars/s{extra}")


def main() -> None:
    bars = int(sys.argv[1]) if len(sys.argv) > 1 else 4000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp, FakeChatServer() as telegram, \
            FakeChatServer() as slack:
        telegram.hang = True
        data = config(telegram, slack, bars)
        print(f"per-bar decision latency over {bars} bars (first window excluded)")
        for index in range(rounds):
            one_run(Path(tmp), data, False, f"alerts off #{index + 1}")
            one_run(Path(tmp), data, True, f"alerter, dead tg #{index + 1}")
        print(f"Telegram requests left hanging: {len(telegram.held)}; Slack messages: "
              f"{len(slack.sends('services'))}")


if __name__ == "__main__":
    main()

"""Benchmark: the live loop's per-bar latency with the per-signal LLM gate on and a 20 s model.

Runs the real ``LiveBot`` (paper broker, synthetic feed, SQLite journal) over the same bars
without the LLM, then with ``llm.gate: candidates`` against a fake Bedrock endpoint on loopback
that takes 20 s per call (real boto3): every candidate is asked (decisive level 1.0, no
cooldown), waits its bars and then follows the fail mode, since no answer can come in time at
full feed speed. Market-event triggers are off so only the gate asks. Prints p50/p99 per run;
asserts nothing. Usage: ``python benchmarks/bench_llm_gate.py [bars] [rounds]``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.composition import paper_broker  # noqa: E402
from bot.core.llm_gate import GATE_WAIT_RULE  # noqa: E402
from bot.runtime.live import LiveBot  # noqa: E402
from shared.config.settings import settings_from_mapping  # noqa: E402
from shared.persistence import ops_store  # noqa: E402
from shared.persistence.db import connect  # noqa: E402
from tests.fakellm.server import FakeLlmServer, Step  # noqa: E402

PROVIDER_DELAY_S = 20.0


def run(bars: int, folder: Path, llm: dict | None) -> tuple[np.ndarray, float, dict]:
    """Play ``bars`` bars; return warm per-bar latencies (ms), wall seconds and gate counts."""
    config = {
        "feed": {"start": "2025-03-03T14:25:00Z", "speed": 1_000_000, "max_bars": bars},
        "engine": {"heartbeat_seconds": 1.0},
        "risk": {"max_trades_per_day": 40, "max_hold_minutes": 10},
    }
    if llm is not None:
        config["llm"] = llm
        config["events"] = {"triggers": []}
    settings = settings_from_mapping(config, env={})
    db = folder / f"bench-{time.monotonic_ns()}.db"
    bot = LiveBot(settings, db, "benchmark", paper_broker)
    started = time.perf_counter()
    asyncio.run(bot.run())
    elapsed_s = time.perf_counter() - started
    conn = connect(db, readonly=True)
    events = [e.kind for e in ops_store.recent_events(conn, 1_000_000)]
    rules = [d.risk_rule for d in bot.engine.journal.decisions] if hasattr(
        bot.engine.journal, "decisions") else []
    counts = {"asked": events.count("llm_trigger"),
              "dropped": events.count("llm_trigger_dropped"),
              "waits": rules.count(GATE_WAIT_RULE)}
    conn.close()
    latencies = np.array(bot.bar_latencies_ms)[settings.features.window_bars:]
    return latencies, elapsed_s, counts


def main() -> None:
    bars = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    logging.basicConfig(level=logging.ERROR)
    os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                       "AWS_EC2_METADATA_DISABLED": "true"})
    with tempfile.TemporaryDirectory() as tmp, FakeLlmServer(Step(delay_s=PROVIDER_DELAY_S)
                                                             ) as fake:
        gate = {"enabled": True, "provider": "bedrock", "bedrock_endpoint_url": fake.url,
                "timeout_s": 25.0, "read_timeout_s": 25.0, "max_attempts": 1,
                "gate": "candidates", "gate_decisive_confidence": 1.0, "gate_wait_bars": 2,
                "gate_cooldown_minutes": 0, "gate_max_per_hour": 120}
        for round_index in range(rounds):
            for label, llm in (("no LLM", None), ("gate, 20 s/call", gate)):
                latencies, elapsed_s, counts = run(bars, Path(tmp), llm)
                p50, p99 = np.percentile(latencies, 50), np.percentile(latencies, 99)
                extra = "" if llm is None else (
                    f"  candidates asked {counts['asked']}, dropped (queue full) "
                    f"{counts['dropped']}, requests at the fake {fake.count('/converse')}")
                print(f"round {round_index + 1} {label:>15}: {len(latencies)} bars in "
                      f"{elapsed_s:.1f} s  p50 {p50:.3f} ms  p99 {p99:.3f} ms{extra}")


if __name__ == "__main__":
    main()

"""Benchmark: the live loop's per-bar decision latency with a 20 s LLM provider vs no LLM.

Runs the real ``LiveBot`` (paper broker, synthetic feed, SQLite journal) over the same bars
three times each without the LLM and with it enabled against a fake Bedrock endpoint on
loopback that takes 20 s per call (real boto3), volatility triggers every simulated minute.
Prints p50/p99 per run; asserts nothing. Usage: ``python benchmarks/bench_llm_loop.py [bars]``.
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
from bot.runtime.live import LiveBot  # noqa: E402
from shared.config.settings import settings_from_mapping  # noqa: E402
from shared.persistence import llm_store, ops_store  # noqa: E402
from shared.persistence.db import connect  # noqa: E402
from tests.fakellm.server import FakeLlmServer, Step  # noqa: E402

PROVIDER_DELAY_S = 20.0


def run(bars: int, folder: Path, llm: dict | None) -> tuple[np.ndarray, float, dict]:
    """Play ``bars`` bars; return warm per-bar latencies (ms), wall seconds and LLM counts."""
    config = {
        "feed": {"start": "2025-03-03T14:25:00Z", "speed": 1_000_000, "max_bars": bars},
        "engine": {"heartbeat_seconds": 1.0},
    }
    if llm is not None:
        config["llm"] = llm
        config["events"] = {"volatility_spike_atr_ratio": 1.05, "cooldown_minutes": 1.0}
    settings = settings_from_mapping(config, env={})
    db = folder / f"bench-{time.monotonic_ns()}.db"
    bot = LiveBot(settings, db, "benchmark", paper_broker)
    started = time.perf_counter()
    asyncio.run(bot.run())
    elapsed_s = time.perf_counter() - started
    conn = connect(db, readonly=True)
    events = [e.kind for e in ops_store.recent_events(conn, 1_000_000)]
    counts = {"triggers": events.count("llm_trigger"),
              "calls_logged": len(llm_store.recent_calls(conn, 100_000))}
    conn.close()
    latencies = np.array(bot.bar_latencies_ms)[settings.features.window_bars:]
    return latencies, elapsed_s, counts


def main() -> None:
    bars = int(sys.argv[1]) if len(sys.argv) > 1 else 4000
    window = settings_from_mapping({}, env={}).features.window_bars
    if bars <= window:
        raise SystemExit(f"bench_llm_loop: give more than {window} bars (the first {window} "
                         "fill the feature window and are not timed)")
    logging.basicConfig(level=logging.ERROR)
    os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                       "AWS_EC2_METADATA_DISABLED": "true"})
    slow = Step(delay_s=PROVIDER_DELAY_S)
    with tempfile.TemporaryDirectory() as tmp, FakeLlmServer(slow) as fake:
        llm = {"enabled": True, "provider": "bedrock", "bedrock_endpoint_url": fake.url,
               "timeout_s": 25.0, "read_timeout_s": 25.0, "max_attempts": 1}
        summary: dict[str, list[float]] = {"no LLM": [], "LLM 20 s/call": []}
        for round_index in range(3):
            for label, llm_config in (("no LLM", None), ("LLM 20 s/call", llm)):
                latencies, elapsed_s, counts = run(bars, Path(tmp), llm_config)
                p50, p99 = np.percentile(latencies, 50), np.percentile(latencies, 99)
                summary[label].append(float(p99))
                extra = "" if llm_config is None else (
                    f"  triggers {counts['triggers']}, calls logged {counts['calls_logged']}, "
                    f"requests at the fake {fake.count('/converse')}")
                print(f"round {round_index + 1} {label:>14}: {len(latencies)} bars in "
                      f"{elapsed_s:.1f} s  p50 {p50:.3f} ms  p99 {p99:.3f} ms{extra}")
        for label, values in summary.items():
            print(f"{label:>14}: per-bar decision p99 over 3 runs {min(values):.3f}-"
                  f"{max(values):.3f} ms (median {np.median(values):.3f} ms)")


if __name__ == "__main__":
    main()

"""Benchmark the LLM in backtests: what replaying replies and detecting triggers add.

On the same synthetic 1-minute bars (after one untimed warm-up run), times the default
pipeline with ``--llm off``; with a replay of one reply every 30 minutes (alternately bullish
and bearish) in advisory mode (the replay machinery alone) and in bias mode (the bias also
skips entries, whose shadows are then followed bar by bar); the trigger pass ``record`` and
``replay-cache`` make before a run; and a ``replay-cache`` run whose cache is empty (every
trigger builds and hashes its prompt, then misses). Prints bars per second, bars evaluated
and the overheads. Asserts nothing.
Usage: ``python benchmarks/bench_llm_backtest.py [bars]`` (default 200,000).
"""

from __future__ import annotations

import logging
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.backtest.data import synthetic_data  # noqa: E402
from bot.backtest.engine_run import run_engine, session_clock  # noqa: E402
from bot.backtest.llm_record import cache_answers  # noqa: E402
from bot.backtest.llm_run import BacktestLlm  # noqa: E402
from bot.backtest.llm_triggers import detect_triggers, provider_identity  # noqa: E402
from bot.core.llm_reply import LlmReply  # noqa: E402
from shared.config.settings import settings_from_mapping  # noqa: E402
from shared.persistence.db import open_database  # noqa: E402


def timed(label: str, bars: int, work) -> tuple[float, object]:
    started = time.perf_counter()
    result = work()
    seconds = time.perf_counter() - started
    evaluated = getattr(result, "bars_evaluated", None)
    note = f"  {evaluated:>8,} bars evaluated" if evaluated is not None else ""
    print(f"{label:<42} {seconds:7.2f} s  {bars / seconds:>10,.0f} bars/s{note}")
    return seconds, result


def main() -> None:
    logging.basicConfig(level=logging.ERROR)
    bars = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    settings = settings_from_mapping({"feed": {"bar_seconds": 60}, "risk": {
        "max_trades_per_day": 40, "cooldown_after_loss_minutes": 1}}, env={})
    data = synthetic_data(bars, 7, 60, None)
    session_clock()  # built once per process; not part of any figure
    replies = [LlmReply(bias="BULLISH" if i % 2 else "BEARISH", confidence=0.8,
                        action="BUY" if i % 2 else "SELL")
               for i in range(bars // 30)]

    def replay_run(mode: str):
        chosen = settings.model_copy(update={"llm": settings.llm.model_copy(
            update={"mode": mode})})
        hook = BacktestLlm(data, chosen, "replay")
        for index, reply in enumerate(replies):
            hook.add_reply(reply, data.ts(0) + timedelta(minutes=30 * index + 1), index)
        return run_engine(chosen, data, llm=hook)

    print(f"{bars:,} synthetic 1-minute bars, default pipeline")
    run_engine(settings, data)  # warm-up: first-run costs belong to no figure
    off, _ = timed("--llm off", bars, lambda: run_engine(settings, data))
    advisory, _ = timed(f"--llm replay, advisory ({len(replies):,} replies)", bars,
                        lambda: replay_run("advisory"))
    replay, outcome = timed("--llm replay, bias", bars, lambda: replay_run("bias"))
    detect, triggers = timed("trigger pass (record / replay-cache)", bars,
                             lambda: detect_triggers(data, settings))
    with tempfile.TemporaryDirectory() as folder:
        cache = Path(folder) / "cache.db"
        open_database(cache).close()

        def cached_run():
            answers = cache_answers(cache, settings.llm, triggers,
                                    provider_identity(settings.llm))
            hook = BacktestLlm(data, settings, "replay-cache", answers, 2.0)
            try:
                return run_engine(settings, data, llm=hook)
            finally:
                hook.close()

        miss, cached = timed("--llm replay-cache run (all misses)", bars, cached_run)
    count = sum(len(t) for t in triggers.values())
    summary, answered = outcome.llm, cached.llm
    print(f"replay overhead: advisory {advisory / off - 1:+.1%}, bias {replay / off - 1:+.1%} "
          f"(decisions the bias moved {summary.nudged_decisions:,}, skipped entries followed "
          f"{len(summary.shadow_pnls_cents):,})")
    print(f"triggers {count:,}; trigger pass {detect / off:.0%} of an off run; "
          f"replay-cache run {miss / off - 1:+.1%} over off (prompts asked "
          f"{answered.counts['llm_triggers_asked']:,})")


if __name__ == "__main__":
    main()

"""Print the built-in market's figures beside real ES: is the synthetic market ES-like?

Measures (``bot.adapters.feeds.calibration``) real ES one-minute bars (ESZ25 as front month,
from ../shared/data, read in place) and the synthetic market generated at the real median price
as one-minute bars and as five-second bars summed into minutes, over several seeds. Also
prints the five-second figures the live bot sees and the generator's speed. Asserts nothing;
tests/bot/adapters/feeds/test_market_calibration.py holds the tolerances.
Usage: ``python benchmarks/bench_market_calibration.py [sessions]`` (default 40).
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.adapters.feeds.calibration import (  # noqa: E402
    load_reference,
    market_figures,
    median_figures,
    sessions_frame,
)
from bot.adapters.feeds.synthetic import SyntheticMarket  # noqa: E402

DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "data"
START = datetime(2025, 9, 14, 22, 0, tzinfo=UTC)  # a Sunday 17:00 CT session open
SEEDS = (7, 11, 2024)
SESSION_MINUTES = 1380


def synthetic_frame(seed: int, bar_seconds: int, sessions: int, price: float) -> pd.DataFrame:
    """``sessions`` Globex sessions of the seeded market as a UTC-indexed frame."""
    return sessions_frame(SyntheticMarket(seed, START, price, bar_seconds), sessions)


def main() -> None:
    sessions = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    columns: dict[str, dict[str, float]] = {}
    price = 6740.0
    if DATA_DIR.is_dir():
        real = market_figures(load_reference(DATA_DIR))
        columns["real ES 1-min"] = real.as_dict()
        price = round(real.median_price * 4) / 4
    else:
        print(f"(real data folder {DATA_DIR} absent: synthetic figures only)")
    minute_figures = [market_figures(synthetic_frame(seed, 60, sessions, price))
                      for seed in SEEDS]
    columns["synthetic 1-min"] = median_figures(minute_figures)
    five_sessions = sessions
    five_figures = [market_figures(synthetic_frame(seed, 5, five_sessions, price))
                    for seed in SEEDS]
    columns["synthetic 5-s as 1-min"] = median_figures(five_figures)
    table = pd.DataFrame(columns)
    if "real ES 1-min" in columns:
        for name in ("synthetic 1-min", "synthetic 5-s as 1-min"):
            table[f"{name} / real"] = table[name] / table["real ES 1-min"]
    pd.set_option("display.width", 200)
    print(f"synthetic at {price:g} points, seeds {SEEDS}, {sessions} sessions of 1-min bars "
          f"and of 5-s bars per seed (figures: median over seeds)")
    print(table.round(3).to_string())

    five = synthetic_frame(SEEDS[0], 5, 5, 5000.0)
    hour = five.index.tz_convert("America/Chicago")
    hour_ct = np.asarray(hour.hour + hour.minute / 60)
    rth = (hour_ct >= 8.5) & (hour_ct < 15.0)
    true_range = np.maximum(five["high"], five["close"].shift()) - np.minimum(
        five["low"], five["close"].shift())
    atr = true_range.ewm(alpha=1 / 14, adjust=False).mean().to_numpy()
    print(f"5-s bars at 5000: ATR(14) median RTH {np.nanmedian(atr[rth]):.2f} points, overnight "
          f"{np.nanmedian(atr[~rth]):.2f}; share of 5-s bars with zero range RTH "
          f"{np.mean((five['high'] == five['low']).to_numpy()[rth]):.0%}, overnight "
          f"{np.mean((five['high'] == five['low']).to_numpy()[~rth]):.0%}")

    for bar_seconds, count in ((60, 1_000_000), (5, 1_000_000)):
        started = time.perf_counter()
        produced = 0
        for session in SyntheticMarket(7, START, 5000.0, bar_seconds).iter_sessions():
            produced += len(session.close)
            if produced >= count:
                break
        seconds = time.perf_counter() - started
        print(f"generator, {bar_seconds}-s bars as columns: {produced / seconds:,.0f} bars/s")
    started = time.perf_counter()
    for _, _ in zip(SyntheticMarket(7, START, 5000.0, 5).iter_bars(), range(200_000),
                    strict=False):
        pass
    print(f"generator, 5-s Bar objects: {200_000 / (time.perf_counter() - started):,.0f} bars/s")


if __name__ == "__main__":
    main()

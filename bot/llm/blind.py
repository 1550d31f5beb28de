"""Date-blind prompts: nothing that lets a model recognise the day it is asked about.

A model trained on the web may remember what ES did on a given day, so an LLM backtest over
recorded history can overstate its value. A blind prompt (``--llm record --blind``) carries no
date or time of year (the bar time is dropped; the regime's time-of-day bucket and minutes to
the close stay), no absolute price (every price is rebased to an index where the current price
is 100; ATR and MACD in points become percent of the price) and no headline text (a headline
can name the day; the news keywords and the sentiment stay). Everything else in the prompt is
already relative.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, TypeVar

Snapshot = TypeVar("Snapshot")  # ``bot.llm.context.Snapshot`` (which imports this module)

INDEX_BASE = 100.0
PRICE_FEATURES = ("close", "ema_fast", "ema_slow", "sma_slow")
POINT_FEATURES = {"atr_points": "atr_pct", "atr_baseline_points": "atr_baseline_pct",
                  "macd_hist": "macd_hist_pct"}
POSITION_PRICES = ("entry_price", "stop", "target")
TRADE_PRICES = ("entry", "exit")
BLIND_DROPPED_DATA = ("headlines",)


def _index(value: Any, reference: float) -> Any:
    if not isinstance(value, int | float) or isinstance(value, bool) or not reference:
        return value
    return round(INDEX_BASE * float(value) / reference, 4)


def _percent(value: Any, reference: float) -> Any:
    if not isinstance(value, int | float) or isinstance(value, bool) or not reference:
        return value
    return round(100.0 * float(value) / reference, 5)


def blind_snapshot(snapshot: Snapshot) -> Snapshot:
    """The snapshot with no bar time and every price rebased to the current price = 100."""
    reference = snapshot.price
    features: dict[str, Any] = {}
    for key, value in snapshot.features.items():
        if key in PRICE_FEATURES:
            features[key] = _index(value, reference)
        elif key in POINT_FEATURES:
            features[POINT_FEATURES[key]] = _percent(value, reference)
        else:
            features[key] = value
    position = snapshot.position
    if position is not None:
        position = {k: _index(v, reference) if k in POSITION_PRICES else v
                    for k, v in position.items()}
    trades = [{k: _index(v, reference) if k in TRADE_PRICES else v for k, v in trade.items()}
              for trade in snapshot.recent_trades]
    return replace(snapshot, ts="", price=INDEX_BASE, features=features, position=position,
                   recent_trades=trades)

"""Reference strategy ``rsi_macd_bracket``: a MACD histogram zero cross filtered by RSI.

From bar ``first_bar`` on, when flat: the histogram crosses above 0 (previous <= 0 < now) with
buy_rsi_low < RSI < buy_rsi_high -> buy; crosses below 0 (previous >= 0 > now) with
sell_rsi_low < RSI < sell_rsi_high -> sell. Stop distance = stop_atr x ATR rounded to whole
ticks (half up, at least one), target = target_ratio x the stop distance, both from the signal
bar's close. Indicators as the engine's features (ta's RSI, MACD; Wilder's ATR). Backtest-only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field
from ta.trend import MACD

from bot.core.features import wilder_atr

NAME = "rsi_macd_bracket"


class RsiMacdBracketParams(BaseModel):
    """Indicator periods, RSI bands and bracket sizing."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    first_bar: int = Field(100, ge=0)
    rsi_period: int = Field(14, ge=2)
    macd_fast: int = Field(12, ge=2)
    macd_slow: int = Field(26, ge=3)
    macd_signal: int = Field(9, ge=2)
    atr_period: int = Field(14, ge=2)
    stop_atr: float = Field(2.0, gt=0)
    target_ratio: float = Field(2.0, gt=0)
    buy_rsi_low: float = Field(50.0, ge=0, le=100)
    buy_rsi_high: float = Field(70.0, ge=0, le=100)
    sell_rsi_low: float = Field(30.0, ge=0, le=100)
    sell_rsi_high: float = Field(50.0, ge=0, le=100)


def rsi(close: np.ndarray, period: int) -> np.ndarray:
    """ta's RSI: Wilder smoothing (alpha 1/period) seeded by the first bar's zero change."""
    change = np.diff(close, prepend=close[0])
    gain = pd.Series(np.maximum(change, 0.0)).ewm(alpha=1.0 / period, adjust=False).mean()
    loss = pd.Series(np.maximum(-change, 0.0)).ewm(alpha=1.0 / period, adjust=False).mean()
    with np.errstate(divide="ignore", invalid="ignore"):
        value = 100.0 - 100.0 / (1.0 + gain.to_numpy() / loss.to_numpy())
    return np.where(loss.to_numpy() == 0.0, 100.0, value)


def signals(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, params: RsiMacdBracketParams,
    tick_size: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Per bar: direction (+1 buy, -1 sell, 0 none) and the stop distance in ticks."""
    count = len(close)
    hist = MACD(pd.Series(close), window_slow=params.macd_slow, window_fast=params.macd_fast,
                window_sign=params.macd_signal).macd_diff().to_numpy()
    previous = np.concatenate(([np.nan], hist[:-1]))
    strength = rsi(close, params.rsi_period)
    atr = np.full(count, np.nan)
    if count >= params.atr_period:
        atr[params.atr_period - 1 :] = wilder_atr(high, low, close, params.atr_period)
    buy = (previous <= 0) & (hist > 0) & (strength > params.buy_rsi_low) & (
        strength < params.buy_rsi_high
    )
    sell = (previous >= 0) & (hist < 0) & (strength > params.sell_rsi_low) & (
        strength < params.sell_rsi_high
    )
    direction = np.where(buy, 1, np.where(sell, -1, 0))
    direction[: min(params.first_bar, count)] = 0
    direction[~np.isfinite(atr)] = 0
    stop_ticks = np.maximum(1, np.floor(np.nan_to_num(params.stop_atr * atr / tick_size) + 0.5))
    return direction, stop_ticks.astype(np.int64)

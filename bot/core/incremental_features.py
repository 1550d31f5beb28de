"""The live loop's features, updated bar by bar instead of recomputed over the whole window.

``IncrementalFeatures`` owns the engine's ``BarWindow`` and, beside it, the indicator states:
EMAs and MACD advance in O(1) (``RunningEwm``), the window's ATR and baseline in one numpy step
over the window's recursions (``WindowAtrBank``), RSI is four dot products over the window and
the rolling means and deviations (Bollinger, volume z-score, realised volatility, SMA) come from
one ``RollingMoments`` in seven numpy calls. A window still filling (a cold start, a restart)
takes the same paths: its ATR is the bank's recursion seeded at the first bar, its RSI weights
the tail of the full window's. At these sizes a numpy call's ~1 us overhead, not arithmetic, is
the cost, so the code counts calls (``benchmarks/bench_features.py``). Every value equals
``compute_features`` on the same window bit for bit (the tests check every feature on every
bar of the real and synthetic markets), so decisions, and live = backtest parity, are unchanged.

The EMA and MACD states run over every bar since the state was created, where the window's
batch seeds them at its first bar: they agree (bit for bit) once the seed's weight has vanished
below float precision, the condition under which the backtester also uses its whole-history
columns. A config whose window is too short for that computes each bar on the window in batch,
as before. A restart rebuilds the state by replaying the journaled window (``warm_up``), which
is exactly what the batch sees.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from bot.core.features import BarWindow, compute_features, wilder_atr
from bot.core.rolling_moments import RollingMoments, Run
from bot.core.running_ewm import RunningEwm, WindowAtrBank, pandas_alpha
from bot.core.session_levels import NO_LEVELS, SessionLevelTracker
from shared.config.settings import FeatureConfig
from shared.domain.models import Bar, Features

NAN = float("nan")
MAX_SEED_WEIGHT = 1e-15  # below this an EMA seed at the window's first bar vanishes in float64
# The ATR bank keeps 2 x baseline values of each of the window's recursions: 1.9 MB with the
# defaults. A config far beyond them (window 5,000, baseline 4,000: 320 MB) computes the ATR on
# the window each bar instead.
ATR_BANK_MAX_BYTES = 32 * 1024 * 1024

_CLOSE, _VOLUME, _LOG_RETURN = range(3)  # the rolling moments' series
LOG_CACHE_PRICES = 1 << 16  # distinct closes whose log is remembered (~7 MB at most)


def ema_seed_weight(cfg: FeatureConfig) -> float:
    """The largest weight an EMA or MACD value still gives the window's first bar."""
    spans = ((cfg.ema_fast, 0), (cfg.ema_slow, 0), (cfg.macd_fast, 0), (cfg.macd_slow, 0),
             (cfg.macd_signal, cfg.macd_slow - 1))
    # the previous bar's MACD histogram is read too: one step fewer
    return max((1.0 - pandas_alpha(span=span)) ** (cfg.window_bars - 1 - start)
               for span, start in spans)


def atr_bank_bytes(cfg: FeatureConfig) -> int:
    """Memory the ATR bank of this config holds."""
    return 8 * 2 * cfg.atr_baseline_bars * (cfg.window_bars - cfg.atr_period + 1)


class IncrementalFeatures:
    """The rolling window and its indicator states; ``features()`` gives the newest bar's."""

    def __init__(self, cfg: FeatureConfig, levels: SessionLevelTracker | None = None) -> None:
        self.cfg = cfg
        self.levels = levels  # session levels (NaN in the features without a tracker)
        self.window = BarWindow(cfg.window_bars)
        self.incremental = ema_seed_weight(cfg) <= MAX_SEED_WEIGHT
        self._ema_fast = RunningEwm(pandas_alpha(span=cfg.ema_fast), cfg.ema_fast)
        self._ema_slow = RunningEwm(pandas_alpha(span=cfg.ema_slow), cfg.ema_slow)
        self._macd_fast = RunningEwm(pandas_alpha(span=cfg.macd_fast), cfg.macd_fast)
        self._macd_slow = RunningEwm(pandas_alpha(span=cfg.macd_slow), cfg.macd_slow)
        self._macd_signal = RunningEwm(pandas_alpha(span=cfg.macd_signal), cfg.macd_signal)
        self._atr = WindowAtrBank(cfg.window_bars, cfg.atr_period, cfg.atr_baseline_bars) \
            if atr_bank_bytes(cfg) <= ATR_BANK_MAX_BYTES else None
        self._ema = (NAN, NAN)
        self._macd = (NAN, NAN)  # line, histogram
        self._macd_hist_prev = NAN
        self._gains = DoubledRing(cfg.window_bars)  # each bar's close - previous close, >= 0
        self._losses = DoubledRing(cfg.window_bars)  # and previous close - close, >= 0
        self._previous_close = NAN
        self._rsi_decay = _rsi_decay(cfg.rsi_period, cfg.window_bars)
        self._rsi_weights = _rsi_weights(self._rsi_decay)
        # close, volume and log return per bar, for the rolling means and deviations of, in
        # this order: Bollinger, volume z-score (the bars before the newest), realised
        # volatility (sample deviation), SMA
        self._moments = RollingMoments(3, (
            Run(_CLOSE, cfg.bollinger_period), Run(_VOLUME, cfg.volume_z_period, skip=1),
            Run(_LOG_RETURN, cfg.realized_vol_bars, ddof=1), Run(_CLOSE, cfg.sma_slow)))
        # np.log taken once per close price (the same bits as on the window; remembered per
        # price: ES trades on a tick grid, so prices repeat)
        self._log_cell = np.full(1, NAN)
        self._logs: dict[float, float] = {}
        self._last_log = NAN
        self._last_bar = (NAN, NAN, NAN, NAN, NAN)  # open, high, low, close, volume as floats

    def append(self, bar: Bar) -> None:
        """Add a bar (``BarWindow.append`` validates it first) and advance every state."""
        self.window.append(bar)
        close = bar.close
        self._last_bar = (float(bar.open), float(bar.high), float(bar.low), float(close),
                          float(bar.volume))
        if self.levels is not None:
            self.levels.update(bar.ts.timestamp(), bar.high, bar.low, close, bar.volume)
        self._ema = (self._ema_fast.update(close), self._ema_slow.update(close))
        line = self._macd_fast.update(close) - self._macd_slow.update(close)
        self._macd_hist_prev = self._macd[1]
        self._macd = (line, line - self._macd_signal.update(line))
        if self._atr is not None:
            self._atr.update(bar.high, bar.low, close)
        change = close - self._previous_close if self._previous_close == self._previous_close \
            else 0.0
        self._previous_close = close
        self._gains.append(change if change > 0.0 else 0.0)
        self._losses.append(-change if change < 0.0 else 0.0)
        log_close = self._logs.get(close)
        if log_close is None:
            log_close = self._log_of(close)
        self._moments.append((close, bar.volume, log_close - self._last_log))
        self._last_log = log_close

    def _log_of(self, close: float) -> float:
        """``np.log`` of a close (numpy's, not ``math.log``: the bits must be the batch's)."""
        if len(self._logs) >= LOG_CACHE_PRICES:
            self._logs.clear()
        cell = self._log_cell
        cell[0] = close
        np.log(cell, out=cell)
        log_close = self._logs[close] = float(cell[0])
        return log_close

    def warm_up(self, bars: Iterable[Bar]) -> Iterator[Bar]:
        """Append journaled bars, yielding each; those older than the window's reach only the
        session levels (the indicators start, as ever, from the window's first bar)."""
        kept = list(bars)
        older = max(0, len(kept) - self.window.capacity)
        for bar in kept[:older]:
            if self.levels is not None:
                self.levels.update(bar.ts.timestamp(), bar.high, bar.low, bar.close, bar.volume)
            yield bar
        for bar in kept[older:]:
            self.append(bar)
            yield bar

    def features(self) -> Features:
        """Every indicator on the newest bar, equal to ``compute_features`` on the window."""
        window, cfg = self.window, self.cfg
        bars = len(window)
        levels = self.levels.levels() if self.levels is not None else NO_LEVELS
        if not self.incremental or bars == 0 or window.last_ts is None:
            return compute_features(window, cfg, levels)
        rsi, rsi_prev = self._rsi(bars)
        atr, atr_baseline = self._atr.window_values() if self._atr is not None \
            else _batch_atr(window.high, window.low, window.close, cfg)
        (middle, volume_mean, _, sma), (deviation, volume_deviation, log_return_deviation, _) = \
            self._moments.moments()
        if bars >= cfg.bollinger_period:
            spread = cfg.bollinger_std * deviation
            upper, lower = middle + spread, middle - spread
        else:
            upper = middle = lower = NAN
        last_open, last_high, last_low, last_close, last_volume = self._last_bar
        if bars < cfg.volume_z_period + 1:
            volume_zscore = NAN
        elif volume_deviation == 0.0:
            volume_zscore = 0.0
        else:
            volume_zscore = (last_volume - volume_mean) / volume_deviation
        band_width = upper - lower
        roc_period = cfg.rate_of_change_period
        reference_close = window.close_back(roc_period) if bars > roc_period else NAN
        macd_line, macd_hist = self._macd
        # positional, in the fields' order (a keyword call of 35 fields costs more than the
        # arithmetic); the session levels last, in LEVEL_NAMES order (NaN without a tracker)
        return Features(
            window.last_ts, last_open, last_high, last_low, last_close, last_volume, bars,
            rsi, rsi_prev,
            macd_line, macd_line - macd_hist, macd_hist,
            self._macd_hist_prev if bars > 1 else NAN,
            atr, atr_baseline,
            self._ema[0], self._ema[1],
            sma if bars >= cfg.sma_slow else NAN,
            upper, middle, lower,
            (last_close - lower) / band_width if band_width != 0.0 else 0.5,
            (last_close / reference_close - 1.0) * 100.0,  # rate_of_change_pct
            last_close - reference_close,  # momentum_points
            volume_zscore,
            (last_close - last_open) / atr if atr != 0.0 else 0.0,  # body_over_atr
            log_return_deviation * 100.0
            if bars > cfg.realized_vol_bars else NAN,  # realized_vol_pct
            *levels,
        )

    def _rsi(self, bars: int) -> tuple[float, float]:
        """RSI and the previous bar's RSI on the window of ``bars`` bars, as
        ``wilder_rsi_tail`` gives them: ``ewm_tail``'s dot products over the window's gains and
        losses, the same BLAS call (``dot``, which ``@`` calls on two vectors, at half its
        overhead) on the same vectors."""
        ready = bars - self.cfg.rsi_period
        if ready <= 0:
            return NAN, NAN
        gains, losses = self._gains.newest(bars), self._losses.newest(bars)
        if bars == self.window.capacity:
            # the window's first change counts as none (np.diff with prepend=close[0]): its
            # weight is 0, so its term is the 0.0 the batch's zero change gives (values finite)
            weights, weights_prev = self._rsi_weights
        else:
            # a window still filling starts at the first bar, whose change was none: the
            # first term is 0.0 whatever its weight, the others' weights are ewm_tail's
            decay = self._rsi_decay
            weights, weights_prev = decay[len(decay) - bars :], decay[len(decay) - bars + 1 :]
        rsi = _rsi_value(float(weights.dot(gains)), float(weights.dot(losses)))
        if ready == 1:
            return rsi, NAN
        return rsi, _rsi_value(float(weights_prev.dot(gains[:-1])),
                               float(weights_prev.dot(losses[:-1])))


class DoubledRing:
    """The last ``capacity`` floats, each written twice so the newest are one contiguous view."""

    __slots__ = ("_buffer", "_capacity", "_head")

    def __init__(self, capacity: int) -> None:
        self._buffer = np.zeros(2 * capacity)
        self._capacity = capacity
        self._head = 0  # where the next value goes; once full, the oldest value sits here

    def append(self, value: float) -> None:
        """Add a value, dropping the oldest."""
        head = self._head
        self._buffer[head] = value
        self._buffer[head + self._capacity] = value
        self._head = head + 1 if head + 1 < self._capacity else 0

    def newest(self, count: int) -> np.ndarray:
        """The newest ``count`` values, oldest first (a view the next append changes)."""
        end = self._head + self._capacity
        return self._buffer[end - count : end]


def _rsi_decay(period: int, length: int) -> np.ndarray:
    """``ewm_tail``'s weights of a ``length``-value series; its last n weigh n values."""
    alpha = 1.0 / period
    return alpha * (1.0 - alpha) ** np.arange(length - 1, -1, -1, dtype=float)


def _rsi_weights(decay: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The weights for the last and the one-before-last value of a full window: ``decay``'s,
    the window's first change weighing 0 (``ewm_tail`` seeds with it; the batch's is none)."""
    now, before = decay.copy(), decay[1:].copy()
    now[0] = before[0] = 0.0
    return now, before


def _rsi_value(average_gain: float, average_loss: float) -> float:
    if average_loss == 0.0:
        return 100.0
    return 100.0 - 100.0 / (1.0 + average_gain / average_loss)


def _batch_atr(high: np.ndarray, low: np.ndarray, close: np.ndarray, cfg: FeatureConfig
               ) -> tuple[float, float]:
    """ATR and baseline on the window, for a config whose ATR bank would be too large."""
    series = wilder_atr(high, low, close, cfg.atr_period)
    atr = float(series[-1]) if len(series) else NAN
    tail = cfg.atr_baseline_bars
    return atr, float(series[-tail:].mean()) if len(series) >= tail else NAN

"""Every bar's ``Features`` computed once per run, vectorised, as the live window computes them.

Same formulas and warm-up (NaN) pattern as ``bot.core.features.compute_features``; the session
levels come from ``bot.core.session_levels.session_level_columns``. Most columns come
out bit for bit equal to the live window's. RSI and ATR (and what derives from ATR) are seeded
at the window's first bar live, so over the whole history they differ by ~1e-15 relative; that
is enough to flip a tie (an unchanged close leaves RSI mathematically equal to the previous
one), so ``features_at`` recomputes those columns on the bar's own window with the live
functions, on the bars where the engine may decide an entry.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterator, Mapping
from dataclasses import fields
from operator import itemgetter

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view
from ta.trend import MACD, EMAIndicator

from bot.core.feature_columns import RELATIVE_MARGIN, FeatureColumns
from bot.core.features import wilder_atr, wilder_rsi_tail
from bot.core.session_levels import LEVEL_NAMES
from shared.config.settings import FeatureConfig
from shared.domain.models import Features

NAN = float("nan")
FEATURE_COLUMNS = tuple(f.name for f in fields(Features) if f.name not in ("ts",))
_CHUNK_ROWS = 65_536
MAX_SEED_WEIGHT = 1e-15  # below this the window's EMA seeds vanish in float64
# How far a window's ATR seed (the mean of its first true ranges) may sit from the whole-history
# ATR at that bar, relative to the ATR: generously bounded (a factor 1,000 would need the market
# to change its volatility a thousandfold within one window).
SEED_DISCREPANCY_BOUND = 1e3


def window_seed_weight(cfg: FeatureConfig) -> float:
    """Largest weight an EMA-type column still gives its seed at the end of a full window.

    Above ``MAX_SEED_WEIGHT`` the whole-history EMA/MACD columns would not equal the live
    window's, and the backtest must use the live feature path instead.
    """
    spans = ((cfg.ema_fast, 0), (cfg.ema_slow, 0), (cfg.macd_fast, 0), (cfg.macd_slow, 0),
             (cfg.macd_signal, cfg.macd_slow - 1))
    return max((1.0 - 2.0 / (span + 1)) ** (cfg.window_bars - start) for span, start in spans)


def atr_ratio_margin(cfg: FeatureConfig) -> float:
    """Relative bound on how far a whole-history ATR / baseline ratio sits from the live one.

    The live baseline averages the last ``atr_baseline_bars`` ATR values of the window; the
    oldest of them still gives weight (1 - 1/atr_period)^k to the seed the window started
    from, k being its steps since that seed. Hand this to ``regime.may_allow``.
    """
    steps = cfg.window_bars - cfg.atr_period + 1 - cfg.atr_baseline_bars
    seed_weight = (1.0 - 1.0 / cfg.atr_period) ** max(steps, 0)
    return RELATIVE_MARGIN + SEED_DISCREPANCY_BOUND * seed_weight


def _rolling(values: np.ndarray, period: int, reducer: str, ddof: int = 0) -> np.ndarray:
    """Per-index mean or std of the last ``period`` values (NaN before), in bounded memory."""
    out = np.full(len(values), NAN)
    if len(values) < period:
        return out
    windows = sliding_window_view(values, period)
    for start in range(0, len(windows), _CHUNK_ROWS):
        block = windows[start : start + _CHUNK_ROWS]
        result = block.mean(axis=1) if reducer == "mean" else block.std(axis=1, ddof=ddof)
        out[period - 1 + start : period - 1 + start + len(block)] = result
    return out


def _wilder_rsi(close: np.ndarray, period: int) -> np.ndarray:
    """ta's RSI: first change counts as 0; NaN until ``period`` real changes (as the window)."""
    change = np.diff(close, prepend=close[0])
    gains = pd.Series(np.maximum(change, 0.0)).ewm(alpha=1.0 / period, adjust=False).mean()
    losses = pd.Series(np.maximum(-change, 0.0)).ewm(alpha=1.0 / period, adjust=False).mean()
    average_gain, average_loss = gains.to_numpy(), losses.to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        rsi = 100.0 - 100.0 / (1.0 + average_gain / average_loss)
    rsi = np.where(average_loss == 0.0, 100.0, rsi)
    rsi[: min(period, len(rsi))] = NAN
    return rsi


def _shift(values: np.ndarray, back: int) -> np.ndarray:
    out = np.full(len(values), NAN)
    if back < len(values):
        out[back:] = values[: len(values) - back]
    return out


def _atr_columns(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, cfg: FeatureConfig,
    put: Callable[[str, np.ndarray | float], None],
) -> None:
    """ATR (``wilder_atr``, which reads its inputs without writing them: no copies) and its
    baseline, each written into the table as soon as computed."""
    period = cfg.atr_period
    series = wilder_atr(high, low, close, period)
    if not len(series):
        put("atr_points", NAN)
        put("atr_baseline_points", NAN)
        return
    column = np.full(len(close), NAN)
    column[period - 1 :] = series
    put("atr_points", column)
    column[period - 1 :] = _rolling(series, cfg.atr_baseline_bars, "mean")
    put("atr_baseline_points", column)


def _volume_zscore(volume: np.ndarray, period: int) -> np.ndarray:
    """(volume - mean) / std of the ``period`` bars before each bar; 0 where std is 0."""
    mean = _shift(_rolling(volume, period, "mean"), 1)
    z = np.subtract(volume, mean, out=mean)
    deviation = _shift(_rolling(volume, period, "std"), 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        np.divide(z, deviation, out=z)
    z[deviation == 0.0] = 0.0
    return z


def _realized_vol_pct(close: np.ndarray, bars: int) -> np.ndarray:
    out = np.full(len(close), NAN)
    if len(close) >= bars + 1:
        log_returns = np.diff(np.log(close))
        out[1:] = _rolling(log_returns, bars, "std", ddof=1) * 100.0
    return out


class FeatureTable:
    """Every bar's features by column: the bars' own arrays, and the indicators column-major.

    ``table[:, j]`` is column ``j`` of ``FEATURE_COLUMNS`` (a 1-D array), ``table[i, j]`` one
    value and ``row(i)`` bar ``i``'s values in that order, as a 2-D matrix would give them. The
    bars' columns and the session levels' are held as given (``held``, not copied); the
    columns that are a float operation or two on others (``rsi_prev``, ``macd_hist_prev``,
    ``bars_in_window``, ``macd_signal``, the Bollinger bands and %B, rate of change, momentum,
    body/ATR: ``_DERIVED``) are computed when asked, by the same operations as when they were
    stored, so they come out bit for bit the same. A million bars take 12 stored indicator
    columns (96 MB; 18 before, 144 MB) beside the 8 level columns (64 MB).
    """

    def __init__(self, held: dict[str, np.ndarray | RunColumn], stored: np.ndarray,
                 window_bars: int,
                 rate_of_change_period: int, first_bar: int = 0):
        self._bars, self._stored, self._window_bars = held, stored, window_bars
        self._count = len(stored)
        self._first_bar = first_bar  # the history's index of this table's row 0 (a block's)
        self._bar_columns: list[np.ndarray] = [held[name] for name in _BAR_NAMES]  # type: ignore[misc]
        self._close = self._bar_columns[3]
        self.rate_of_change_period = rate_of_change_period

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, key: tuple[object, int]) -> np.ndarray | float:
        index, position = key
        if isinstance(index, slice) and index == slice(None):
            return self.column(FEATURE_COLUMNS[position])
        return float(self.column(FEATURE_COLUMNS[position])[index])  # tests only: slow

    def column(self, name: str) -> np.ndarray:
        """One feature over every bar."""
        if name in self._bars:
            values = self._bars[name]
            return values[:] if isinstance(values, RunColumn) else values
        if name in _SHIFTED:
            return _shift(self.column(_SHIFTED[name]), 1)
        if name == "bars_in_window":
            first = self._first_bar + 1
            return np.minimum(np.arange(first, first + self._count),
                              self._window_bars).astype(float)
        if name in _DERIVED:
            return _derived_column(self, name)
        return self._stored[:, _STORED_INDEX[name]]

    def block(self, start: int, stop: int) -> FeatureTable:
        """Rows ``start``..``stop``-1 as a table of views, with the rows before them that the
        shifted and derived columns look back on (``lookback`` of them)."""
        begin = max(0, start - self.lookback)
        return FeatureTable({name: values[begin:stop] for name, values in self._bars.items()},
                            self._stored[begin:stop], self._window_bars,
                            self.rate_of_change_period, self._first_bar + begin)

    @property
    def lookback(self) -> int:
        """How many earlier rows a shifted or derived column reads (one, or the rate of
        change's period)."""
        return max(1, self.rate_of_change_period)

    def stored(self, name: str) -> np.ndarray:
        """A stored column by name (``_STORED_NAMES``), as computed."""
        return self._stored[:, _STORED_INDEX[name]]

    def row(self, index: int) -> list[float]:
        """Bar ``index``'s features in ``FEATURE_COLUMNS`` order."""
        stored = self._stored[index].tolist()
        values = [float(column.item(index)) for column in self._bar_columns]  # no numpy scalar
        values.append(float(min(index + 1, self._window_bars)))
        # one list in _ROW_SOURCES order (stored, derived, levels, one bar earlier), then
        # picked into the features' order by one itemgetter call
        sources = stored + list(_derived_row(self, index, stored, values[3], values[0]))
        sources += [float(self._bars[name].item(index)) for name in LEVEL_NAMES]
        if index > 0:
            sources += [self._stored.item(index - 1, position) for position in _BEFORE_STORED]
        else:
            sources += [NAN] * len(_BEFORE_STORED)
        values += _PICK_ROW(sources)
        return values

    def close_before(self, index: int, back: int) -> float:
        """The close ``back`` bars before bar ``index`` (NaN before the first bar)."""
        return float(self._close.item(index - back)) if index >= back else NAN


class RunColumn:
    """A column held as runs of one value (the prior day's levels, the opening range: a few
    runs a day), read like the array it replaces: ``item(i)`` and slices, bit for bit.

    ``of`` keeps an array as it is unless it has fewer than one run per ``MIN_RUN_BARS`` bars;
    five of the eight level columns become ~50 kB each instead of 8 MB per million bars.
    """

    MIN_RUN_BARS = 64

    def __init__(self, starts: np.ndarray, values: np.ndarray, count: int) -> None:
        self._starts, self._values, self._count = starts, values, count
        self._start_list, self._value_list = starts.tolist(), values.tolist()

    @classmethod
    def of(cls, column: np.ndarray) -> np.ndarray | RunColumn:
        """``column`` as runs, or as it is when it changes too often to gain from them."""
        if len(column) < 2:
            return column
        bits = column.view(np.int64)  # NaN = NaN and 0.0 != -0.0: runs of identical bits
        starts = np.flatnonzero(np.concatenate(([True], bits[1:] != bits[:-1])))
        if len(starts) * cls.MIN_RUN_BARS > len(column):
            return column
        return cls(starts, column[starts].copy(), len(column))

    def __len__(self) -> int:
        return self._count

    def item(self, index: int) -> float:
        """The value at ``index`` (a Python float)."""
        return self._value_list[bisect_right(self._start_list, index) - 1]

    def __getitem__(self, rows: slice) -> np.ndarray:
        """Rows ``rows`` (a slice with step 1) as an array."""
        begin, stop, step = rows.indices(self._count)
        if step != 1:
            raise ValueError("a RunColumn is sliced with step 1 only")
        stop = max(begin, stop)
        first = int(np.searchsorted(self._starts, begin, side="right")) - 1
        last = int(np.searchsorted(self._starts, stop, side="left"))
        edges = np.clip(np.append(self._starts[first:last], stop), begin, stop)
        return np.repeat(self._values[first:last], np.diff(edges))


def _divide(numerator: float, denominator: float) -> float:
    """``numerator / denominator`` as numpy divides (inf or NaN for a zero denominator)."""
    if denominator != 0.0:
        return numerator / denominator
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.float64(numerator) / np.float64(denominator))


def _derived_row(table: FeatureTable, index: int, stored: list[float], close: float,
                 open_: float) -> tuple[float, ...]:
    """Bar ``index``'s derived columns (``_DERIVED`` order) from its stored values: scalar
    float operations, the same as ``_derived_column``'s elementwise ones."""
    macd, macd_hist = stored[_STORED_INDEX["macd"]], stored[_STORED_INDEX["macd_hist"]]
    middle = stored[_STORED_INDEX["bollinger_middle"]]
    spread = stored[_STORED_INDEX["bollinger_spread"]]
    upper, lower = middle + spread, middle - spread
    width = upper - lower
    percent = 0.5 if width == 0.0 else _divide(close - lower, width)
    reference = table.close_before(index, table.rate_of_change_period)
    atr = stored[_STORED_INDEX["atr_points"]]
    body = _divide(close - open_, atr) if atr != 0.0 else 0.0
    return (macd - macd_hist, upper, lower, percent,
            (_divide(close, reference) - 1.0) * 100.0, close - reference, body)


def _derived_column(table: FeatureTable, name: str) -> np.ndarray:
    """A derived column over every bar (``_derived_row``'s operations, elementwise)."""
    close = table.column("close")
    with np.errstate(divide="ignore", invalid="ignore"):
        if name == "macd_signal":
            return table.stored("macd") - table.stored("macd_hist")
        if name in ("rate_of_change_pct", "momentum_points"):
            reference = _shift(close, table.rate_of_change_period)
            if name == "momentum_points":
                return close - reference
            return (close / reference - 1.0) * 100.0
        if name == "body_over_atr":
            atr = table.stored("atr_points")
            return np.where(atr != 0.0, (close - table.column("open")) / atr, 0.0)
        middle, spread = table.stored("bollinger_middle"), table.stored("bollinger_spread")
        if name == "bollinger_upper":
            return middle + spread
        lower = middle - spread
        if name == "bollinger_lower":
            return lower
        width = (middle + spread) - lower
        percent = (close - lower) / width
        percent[width == 0.0] = 0.5
        return percent


_BAR_NAMES = ("open", "high", "low", "close", "volume")
_SHIFTED = {"rsi_prev": "rsi", "macd_hist_prev": "macd_hist"}
_DERIVED = ("macd_signal", "bollinger_upper", "bollinger_lower", "bollinger_percent",
            "rate_of_change_pct", "momentum_points", "body_over_atr")
_AFTER_BARS = FEATURE_COLUMNS[len(_BAR_NAMES) + 1 :]
STORED_COLUMNS = (*(name for name in _AFTER_BARS if name not in _SHIFTED
                    and name not in LEVEL_NAMES and name not in _DERIVED), "bollinger_spread")
_STORED_INDEX = {name: i for i, name in enumerate(STORED_COLUMNS)}
# Where row() reads each column after the bars' own: its sources are the stored values, the
# derived ones, the levels and the shifted columns' stored values one bar earlier, in order.
_SHIFTED_NAMES = tuple(_SHIFTED)
_BEFORE_STORED = tuple(_STORED_INDEX[_SHIFTED[name]] for name in _SHIFTED_NAMES)
_ROW_SOURCES = (*STORED_COLUMNS, *_DERIVED, *LEVEL_NAMES, *_SHIFTED_NAMES)
_PICK_ROW = itemgetter(*(_ROW_SOURCES.index(name) for name in _AFTER_BARS))


def feature_matrix(
    open_: np.ndarray, high: np.ndarray, low: np.ndarray, close: np.ndarray,
    volume: np.ndarray, cfg: FeatureConfig, levels: Mapping[str, np.ndarray] | None = None,
) -> FeatureTable:
    """Every bar's features (a ``FeatureTable``); each column is written as soon as computed.

    ``levels`` are the session levels' columns (``session_level_columns``); NaN without them.
    """
    count = len(close)
    stored = np.empty((count, len(STORED_COLUMNS)), order="F")

    def put(name: str, values: np.ndarray | float) -> None:  # a copy into the column
        stored[:, _STORED_INDEX[name]] = values

    held: dict[str, np.ndarray | RunColumn] = {"open": open_, "high": high, "low": low,
                                               "close": close, "volume": volume}
    missing = np.broadcast_to(np.float64(NAN), (count,))  # read-only, no memory per bar
    for name in LEVEL_NAMES:
        held[name] = (RunColumn.of(np.asarray(levels[name], dtype=np.float64))
                      if levels is not None else missing)

    # The columns whose computation needs the most scratch memory come first, while few of
    # the table's columns have been written (np.empty pages cost nothing until written).
    close_series = pd.Series(close)
    macd = MACD(close_series, window_slow=cfg.macd_slow, window_fast=cfg.macd_fast,
                window_sign=cfg.macd_signal)
    macd_line, macd_hist = macd.macd().to_numpy(), macd.macd_diff().to_numpy()
    put("macd", macd_line)
    put("macd_hist", macd_hist)
    del macd, macd_line, macd_hist
    put("rsi", _wilder_rsi(close, cfg.rsi_period))
    put("volume_zscore", _volume_zscore(volume, cfg.volume_z_period))
    put("realized_vol_pct", _realized_vol_pct(close, cfg.realized_vol_bars))
    _bollinger(close, cfg, put)
    _atr_columns(high, low, close, cfg, put)
    put("ema_fast", EMAIndicator(close_series, window=cfg.ema_fast).ema_indicator().to_numpy())
    put("ema_slow", EMAIndicator(close_series, window=cfg.ema_slow).ema_indicator().to_numpy())
    put("sma_slow", _rolling(close, cfg.sma_slow, "mean"))
    return FeatureTable(held, stored, cfg.window_bars, cfg.rate_of_change_period)


def _bollinger(close: np.ndarray, cfg: FeatureConfig, put: Callable[[str, np.ndarray], None]
               ) -> None:
    """The Bollinger middle band and its spread (std x bollinger_std); the bands and %B are
    derived from them (``_derived_column``)."""
    put("bollinger_middle", _rolling(close, cfg.bollinger_period, "mean"))
    spread = _rolling(close, cfg.bollinger_period, "std")
    np.multiply(cfg.bollinger_std, spread, out=spread)
    put("bollinger_spread", spread)


def column(name: str) -> int:
    """Index of a feature's column in ``FEATURE_COLUMNS`` (``table[:, column(name)]``)."""
    return FEATURE_COLUMNS.index(name)


def feature_columns(
    matrix: FeatureTable, start: int = 0, stop: int | None = None
) -> FeatureColumns:
    """The table's columns by feature name (rows ``start``..``stop``-1), as ``may_fire`` reads
    them.

    Stored columns are views; a derived one (``rsi_prev``, the bands, ...) is computed when
    read and not kept. Conditions read a block of rows at a time (``candidate_blocks``) keep
    their scratch arrays to that block's size, not the history's.
    """
    stop = len(matrix) if stop is None else stop
    if start == 0 and stop == len(matrix):
        return _TableColumns(matrix, 0)
    block = matrix.block(start, stop)
    return _TableColumns(block, len(block) - (stop - start))


BLOCK_ROWS = 1 << 16


def candidate_blocks(count: int, rows: int = BLOCK_ROWS) -> Iterator[tuple[int, int]]:
    """(start, stop) of consecutive blocks of at most ``rows`` rows covering ``count``."""
    for start in range(0, count, rows):
        yield start, min(count, start + rows)


class _TableColumns(Mapping[str, np.ndarray]):
    """A read-only name -> column mapping over a ``FeatureTable`` (from its row ``skip``)."""

    def __init__(self, table: FeatureTable, skip: int) -> None:
        self._table, self._skip = table, skip

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in _COLUMN_NAMES:
            raise KeyError(name)
        values = self._table.column(name)
        return values[self._skip :] if self._skip else values

    def __iter__(self) -> Iterator[str]:
        return iter(FEATURE_COLUMNS)

    def __len__(self) -> int:
        return len(FEATURE_COLUMNS)


_COLUMN_NAMES = frozenset(FEATURE_COLUMNS)


_BARS_COLUMN = FEATURE_COLUMNS.index("bars_in_window")
_WINDOW_SEEDED = tuple(
    FEATURE_COLUMNS.index(name)
    for name in ("rsi", "rsi_prev", "atr_points", "atr_baseline_points", "body_over_atr")
)


def window_seeded_values(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, open_last: float,
    cfg: FeatureConfig,
) -> tuple[float, float, float, float, float]:
    """RSI, previous RSI, ATR, ATR baseline and body/ATR on one window, as the live loop."""
    bars = len(close)
    ready = bars - cfg.rsi_period
    rsi = wilder_rsi_tail(close, cfg.rsi_period, min(2, ready)) if ready > 0 else close[:0]
    atr_series = wilder_atr(high, low, close, cfg.atr_period)
    atr = float(atr_series[-1]) if len(atr_series) else NAN
    baseline_bars = cfg.atr_baseline_bars
    baseline = (
        float(atr_series[-baseline_bars:].mean()) if len(atr_series) >= baseline_bars else NAN
    )
    body = (float(close[-1]) - open_last) / atr if atr != 0.0 else 0.0
    return (
        float(rsi[-1]) if len(rsi) else NAN, float(rsi[-2]) if len(rsi) > 1 else NAN,
        atr, baseline, body,
    )


def true_ranges(high: np.ndarray, low: np.ndarray, close: np.ndarray) -> np.ndarray:
    """Each bar's true range (the first bar's: its high - low), as ``wilder_atr`` takes it."""
    true_range = high - low
    previous = np.empty(max(len(close) - 1, 0))  # one scratch array, reused
    for extreme in (high, low):
        np.subtract(extreme[1:], close[:-1], out=previous)
        np.abs(previous, out=previous)
        np.maximum(true_range[1:], previous, out=true_range[1:])
    return true_range


def _batched_atr(
    high: np.ndarray, low: np.ndarray, true_range: np.ndarray, ends: np.ndarray,
    cfg: FeatureConfig,
) -> tuple[np.ndarray, np.ndarray]:
    """ATR and its baseline on the full windows ending at ``ends``, all windows at once.

    The same float operations, in the same order, as ``wilder_atr`` (pandas' adjust=False
    EWM: ((1 - a) * y + a * x) / ((1 - a) + a), skipped when y == x) and numpy's mean of the
    last ``atr_baseline_bars`` values; tests check the results bit for bit.
    """
    period, window, tail_bars = cfg.atr_period, cfg.window_bars, cfg.atr_baseline_bars
    starts = ends - window + 1
    seeds = true_range[starts[:, None] + np.arange(period)]
    seeds[:, 0] = high[starts] - low[starts]  # the window's first bar has no previous close
    level = seeds.mean(axis=1)
    alpha = 1.0 / period
    keep, divisor = 1.0 - alpha, (1.0 - alpha) + alpha
    steps = window - period
    tail = np.empty((len(ends), tail_bars))
    for step in range(1, steps + 1):
        value = true_range[starts + period - 1 + step]
        level = np.where(level != value, (keep * level + alpha * value) / divisor, level)
        slot = step - (steps + 1 - tail_bars)
        if slot >= 0:
            tail[:, slot] = level
    return level, tail.mean(axis=1)


def _window_rsi(close: np.ndarray, start: int, end: int,
                weights: tuple[np.ndarray, np.ndarray]) -> tuple[float, float]:
    """``wilder_rsi_tail(close[start:end], period, 2)`` by a few dot products.

    The window's first bar counts as no change; the others' changes are the same floats as
    the whole history's ``np.diff`` (one subtraction into a preallocated array: ``np.diff``
    with ``prepend`` cost a third of this function). The last step is scalar float math,
    the same IEEE operations as the vectorised formula.
    """
    window = close[start:end]
    change = np.empty(len(window))
    change[0] = 0.0
    np.subtract(window[1:], window[:-1], out=change[1:])
    gains, losses = np.maximum(change, 0.0), np.maximum(-change, 0.0)
    now = _rsi_of(float(weights[0] @ gains), float(weights[0] @ losses))
    before = _rsi_of(float(weights[1] @ gains[:-1]), float(weights[1] @ losses[:-1]))
    return now, before


def _rsi_of(average_gain: float, average_loss: float) -> float:
    """RSI from Wilder's average gain and loss (100 when there was no loss)."""
    if average_loss == 0.0:
        return 100.0
    return 100.0 - 100.0 / (1.0 + average_gain / average_loss)


WindowValues = tuple[float, float, float, float, float]


class ExactWindows:
    """``window_seeded_values`` of candidate bars, bit for bit, far cheaper than per bar.

    ATR and its baseline are computed for all candidates (full windows only) up front, all
    windows at once; RSI, a few dot products per bar, when a bar asks for it.
    """

    def __init__(
        self, open_: np.ndarray, high: np.ndarray, low: np.ndarray, close: np.ndarray,
        indices: np.ndarray, cfg: FeatureConfig, chunk: int = 4096,
    ) -> None:
        self._open, self._close, self._window = open_, close, cfg.window_bars
        usable = np.unique(indices[indices >= cfg.window_bars - 1])
        if cfg.atr_baseline_bars > cfg.window_bars - cfg.atr_period:
            usable = usable[:0]
        self._ends = usable  # sorted; ATR and baseline in arrays, not a dict of tuples
        self._atr, self._baseline = np.empty(len(usable)), np.empty(len(usable))
        if len(usable):
            true_range = true_ranges(high, low, close)
            for begin in range(0, len(usable), chunk):
                ends = usable[begin : begin + chunk]
                found = _batched_atr(high, low, true_range, ends, cfg)
                self._atr[begin : begin + len(ends)], self._baseline[begin : begin + len(ends)] = (
                    found)
        alpha = 1.0 / cfg.rsi_period
        decay = (1.0 - alpha) ** np.arange(self._window - 1, -1, -1, dtype=float)
        weights = []
        for back in (0, 1):  # as bot.core.features.ewm_tail builds them
            end = self._window - back
            vector = alpha * decay[self._window - end :]
            vector[0] = decay[self._window - end]
            weights.append(vector)
        self._weights = (weights[0], weights[1])

    @property
    def indices(self) -> list[int]:
        """The bars whose values are available."""
        return self._ends.tolist()

    def get(self, index: int) -> WindowValues | None:
        """RSI, previous RSI, ATR, ATR baseline, body/ATR of bar ``index`` (None if unknown)."""
        position = int(np.searchsorted(self._ends, index))
        if position == len(self._ends) or self._ends[position] != index:
            return None
        atr, baseline = float(self._atr[position]), float(self._baseline[position])
        rsi, rsi_prev = _window_rsi(self._close, index - self._window + 1, index + 1,
                                    self._weights)
        body = (self._close[index] - self._open[index]) / atr if atr != 0.0 else 0.0
        return rsi, rsi_prev, atr, baseline, float(body)


def features_at(
    matrix: FeatureTable, index: int, ts: object, high: np.ndarray, low: np.ndarray,
    close: np.ndarray, cfg: FeatureConfig, exact: bool = True,
    precomputed: ExactWindows | None = None,
) -> Features:
    """The ``Features`` of bar ``index`` (``ts`` its start), equal to the live window's.

    ``exact=False`` keeps the whole-history RSI/ATR columns (~1e-15 off): for bars on which
    no entry can be decided, where features reach only the discarded decision record.
    """
    values: list = matrix.row(index)
    values[_BARS_COLUMN] = int(values[_BARS_COLUMN])
    if not exact:
        return Features(ts, *values)  # type: ignore[arg-type]
    seeded = precomputed.get(index) if precomputed is not None else None
    if seeded is None:
        start = max(0, index + 1 - cfg.window_bars)
        seeded = window_seeded_values(
            high[start : index + 1], low[start : index + 1], close[start : index + 1],
            values[FEATURE_COLUMNS.index("open")], cfg,
        )
    for position, value in zip(_WINDOW_SEEDED, seeded, strict=True):
        values[position] = value
    return Features(ts, *values)  # type: ignore[arg-type]

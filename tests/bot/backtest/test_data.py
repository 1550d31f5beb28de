"""Backtest data helpers."""

from __future__ import annotations

import numpy as np

from bot.backtest.data import median_of_integers


def test_the_median_of_integers_equals_numpys():
    rng = np.random.default_rng(4)
    for size in (1, 2, 3, 10, 101, 1000):
        for values in (rng.integers(0, 5, size), rng.integers(-10**9, 10**9, size),
                       np.full(size, 60)):
            assert median_of_integers(values) == np.median(values)


def test_unpickled_bars_are_aligned_even_from_an_unaligned_buffer():
    """A Dask worker receives scattered bars in a message buffer at any offset."""
    import pickle

    from bot.backtest.data import BarData

    columns = [np.arange(1000, dtype=np.int64)] + [np.linspace(1, 2, 1000) for _ in range(5)]
    bars = BarData(*columns, bar_seconds=60, first=3, rows_skipped=1, problems=("p",))
    buffers: list = []
    payload = pickle.dumps(bars, protocol=5, buffer_callback=buffers.append)
    shifted = []
    for buffer in buffers:
        raw = bytes(buffer.raw())
        holder = bytearray(len(raw) + 1)
        holder[1:] = raw
        shifted.append(memoryview(holder)[1:])  # one byte off: unaligned for 8-byte values
    again = pickle.loads(payload, buffers=shifted)
    for name in ("ts_ns", "open", "high", "low", "close", "volume"):
        array = getattr(again, name)
        assert array.flags.aligned and array.flags.c_contiguous
        assert (array == getattr(bars, name)).all()
    assert (again.bar_seconds, again.first, again.rows_skipped, again.problems) == (
        60, 3, 1, ("p",))


def test_rows_off_the_tick_grid_are_skipped_and_named(tmp_path):
    from bot.backtest.data import file_data

    path = tmp_path / "bars.csv"
    path.write_text("timestamp,open,high,low,close,volume\n"
                    "2024-01-02 14:30:00,4750.00,4751.25,4749.50,4751.00,1\n"
                    "2024-01-02 14:31:00,4751.00,4752.10,4750.75,4751.75,1\n"
                    "2024-01-02 14:32:00,4751.75,4751.75,4750.00,4750.25,1\n")
    data = file_data(path, "UTC", None, 0.25)
    assert len(data) == 2 and data.rows_skipped == 1
    assert data.high.tolist() == [4751.25, 4751.75]
    assert "1 rows off the 0.25 tick grid skipped, first at 2024-01-02 14:31:00" in data.problems[0]

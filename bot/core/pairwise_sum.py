"""numpy's float64 sum of a short sequence, in plain Python, bit for bit.

``np.add.reduce`` (and so ``ndarray.sum`` / ``mean``) adds a contiguous float64 array by
pairwise summation: below 8 values one by one; up to 128 values in 8 interleaved running sums
joined as ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7)), the remainder then added one by
one; longer arrays split in two halves (the first a multiple of 8 long) summed the same way;
the reduction's identity 0.0 is added last. On a list of a dozen floats the Python version costs
a fraction of a numpy call's overhead; the tests check it against numpy on random data.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import add

BLOCK = 128  # numpy's PW_BLOCKSIZE: longer runs are split in two


def pairwise_sum(values: Sequence[float]) -> float:
    """``float(np.add.reduce(np.asarray(values, dtype=float)))``, the same float operations."""
    return 0.0 + _pairwise(values, 0, len(values))


def _pairwise(values: Sequence[float], start: int, count: int) -> float:
    if count < 8:
        total = -0.0
        for index in range(start, start + count):
            total += values[index]
        return total
    if count <= BLOCK:
        blocked = start + count - count % 8
        sums = values[start : start + 8]
        for offset in range(start + 8, blocked, 8):
            sums = list(map(add, sums, values[offset : offset + 8]))
        total = ((sums[0] + sums[1]) + (sums[2] + sums[3])) + ((sums[4] + sums[5])
                                                               + (sums[6] + sums[7]))
        for index in range(blocked, start + count):
            total += values[index]
        return total
    half = count // 2
    half -= half % 8
    return _pairwise(values, start, half) + _pairwise(values, start + half, count - half)

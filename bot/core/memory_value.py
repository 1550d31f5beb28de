"""Expected value of an entry from its similar past setups: a lower bound on the mean R.

Each similar setup ended with an R multiple (net P&L over the initial risk). Their
similarity-weighted mean is the expected R per trade; with weights w, the Kish effective count
n = (Σw)²/Σw² says how many equally weighted trades that evidence is worth. The bound is

    mean R - z x spread / sqrt(n),

a one-sided lower confidence bound (z = 1: about 84 %). The spread is the weighted standard
deviation of R shrunk toward ``PRIOR_R_SPREAD`` as if ``PRIOR_WEIGHT`` trades of that spread had
been seen too, so two identical outcomes do not claim certainty: a bracket trade's R varies by
about one unit (a stop is -1 R). Pure functions, no state.
"""

from __future__ import annotations

import math

PRIOR_R_SPREAD = 1.0  # standard deviation of a bracket trade's R, in R
PRIOR_WEIGHT = 2.0  # pseudo-trades of that spread


def shrunk_spread(spread_r: float, effective_count: float) -> float:
    """The weighted spread of R shrunk toward the prior (never zero)."""
    variance = ((effective_count * spread_r * spread_r + PRIOR_WEIGHT * PRIOR_R_SPREAD ** 2)
                / (effective_count + PRIOR_WEIGHT))
    return math.sqrt(variance)


def lower_bound_r(mean_r: float, spread_r: float, effective_count: float, z: float) -> float:
    """The lower confidence bound of the expected R per trade (``-inf`` without evidence)."""
    if effective_count <= 0:
        return -math.inf
    return mean_r - z * shrunk_spread(spread_r, effective_count) / math.sqrt(effective_count)


def expected_r_adjustment(mean_r: float, spread_r: float, effective_count: float,
                          bound: float) -> float:
    """Confidence change: bound x edge x n / (n + PRIOR_WEIGHT), the edge being mean R over
    its (shrunk) spread, a per-trade Sharpe ratio, clipped to +-1."""
    edge = min(1.0, max(-1.0, mean_r / shrunk_spread(spread_r, effective_count)))
    evidence = effective_count / (effective_count + PRIOR_WEIGHT)
    return min(bound, max(-bound, bound * edge * evidence))

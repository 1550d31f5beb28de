"""Feature columns: what the vectorised firing conditions (``may_fire``, ``may_allow``) read.

``FeatureColumns`` maps a ``Features`` field name to one value per bar. The backtester computes
those columns over the whole history, while the live engine computes each bar on its rolling
window: RSI and ATR (and what derives from ATR) differ in the last bits (~1e-15 relative), so a
vectorised necessary condition widens each threshold on them by these margins. Every other
column is equal bit for bit.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

FeatureColumns = Mapping[str, np.ndarray]
RELATIVE_MARGIN = 1e-9  # relative, for ATR-derived values
RSI_MARGIN = 1e-6  # RSI points

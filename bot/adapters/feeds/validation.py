"""Decide whether a single bar is fit to feed the engine (re-exported from the core).

The checks live in ``bot.core.bar_checks`` so the bad-print quarantine
(``bot.core.bar_quarantine``), live and in backtests, applies the very same ones.
"""

from __future__ import annotations

from bot.core.bar_checks import PRICE_FIELDS, bar_problem

__all__ = ["PRICE_FIELDS", "bar_problem"]

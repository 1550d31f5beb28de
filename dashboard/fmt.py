"""The one place numbers become text on the dashboard: money, LLM cost, points, ratios.

Every page and view formats through these, so one amount reads the same everywhere
(``-$1,250.00``, never ``$-1,250.00``; an LLM cost always with four decimals).
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

DASH = "–"
# st.column_config.NumberColumn formats (printf style), matching the functions below.
USD_COLUMN = "dollar"
COST_COLUMN = "$%.4f"
PRICE_COLUMN = "%.2f"


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def usd(cents: float | None) -> str:
    """Cents as dollars with cents and the sign in front: ``-$1,250.00``; undefined as a dash."""
    if not _finite(cents):
        return DASH
    return usd_amount(cents / 100)


def usd_amount(dollars: float | None) -> str:
    """Dollars with cents and the sign in front: ``-$1,250.00``."""
    if not _finite(dollars):
        return DASH
    sign = "-" if round(dollars, 2) < 0 else ""
    return f"{sign}${abs(dollars):,.2f}"


def signed_usd(cents: float | None) -> str:
    """Cents as a signed dollar change: ``+$12.50`` / ``-$12.50``."""
    if not _finite(cents):
        return DASH
    text = usd(cents)
    return text if text.startswith("-") or round(cents) == 0 else "+" + text


def cost_usd(dollars: float | None) -> str:
    """An LLM or cloud cost: always four decimals (``$0.0028``), the same on every page."""
    if not _finite(dollars):
        return DASH
    rounded = Decimal(repr(dollars)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
    return f"${rounded:,.4f}"


def points(value: float | None) -> str:
    """Index points with the 0.25 tick's two decimals."""
    if not _finite(value):
        return DASH
    return f"{value:,.2f}"


def ratio(value: float | None, pattern: str = "{:.2f}") -> str:
    """A ratio: NaN or None (undefined) as a dash, infinity as the symbol."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return DASH
    if math.isinf(value):
        return "∞"
    return pattern.format(value)


def percent(value: float | None, decimals: int = 1) -> str:
    """A fraction as a percentage (0.523 -> 52.3%)."""
    return ratio(value, f"{{:.{decimals}%}}")


def duration(seconds: float | None) -> str:
    """A span short enough for a metric card at 1,024 px: ``42 min``, ``8 h 54 min``,
    ``1 d 8 h`` (``str(timedelta)``'s ``1 day, 8:53:50`` was cut off); undefined as a dash."""
    if not _finite(seconds) or seconds < 0:
        return DASH
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(round(seconds / 3600), 24)
    return f"{days:,} d {hours} h" if hours else f"{days:,} d"

"""The ``bad_fill`` alarm: no single fill may lose more than the disaster stop without a word.

The disaster stop (``risk.disaster_stop_usd``) is the largest open loss the risk manager lets a
position carry at a bar's close. A fill that closes a position for more than that went through
it: a gap, a fast market, or a price that was never real (a bad print the quarantine let pass,
a broker's bad tick). The engine journals each such trade as a ``bad_fill`` incident (alerted
like every incident) and a backtest counts them; nothing is changed or undone.
"""

from __future__ import annotations

from typing import Any

from shared.config.settings import RiskConfig
from shared.domain.models import TradeRecord

BAD_FILL = "bad_fill"  # the event kind; severity "incident" makes it an alert


def bad_fill(trade: TradeRecord, risk: RiskConfig) -> tuple[str, dict[str, Any]] | None:
    """The alarm's message and detail when ``trade``'s exit fill lost beyond the disaster stop."""
    limit_cents = round(risk.disaster_stop_usd * 100)
    loss_cents = -trade.pnl_gross_cents
    if loss_cents <= limit_cents:
        return None
    message = (f"bad fill? {trade.side.value} {trade.contracts} {trade.symbol} exited "
               f"({trade.exit_reason.value}) at {trade.exit_price:g} from {trade.entry_price:g}: "
               f"a loss of ${loss_cents / 100:,.2f} on one fill, beyond the disaster stop's "
               f"${limit_cents / 100:,.2f}; check that price")
    detail = {"bracket_id": trade.bracket_id, "exit_price": trade.exit_price,
              "entry_price": trade.entry_price, "loss_cents": loss_cents,
              "disaster_stop_cents": limit_cents, "exit_reason": trade.exit_reason.value}
    return message, detail


def count_bad_fills(trades: list[TradeRecord], risk: RiskConfig) -> int:
    """How many of ``trades`` would each have raised the alarm (a backtest's metric)."""
    return sum(bad_fill(trade, risk) is not None for trade in trades)

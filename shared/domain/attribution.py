"""What the LLM was worth, from entries and skipped-entry shadows: one formula for every view.

The LLM page reads it from the journal, a backtest from its own run; both give the figures
the same meaning. Pure arithmetic over cents.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class EntryOutcome:
    """A closed trade's net P&L with the LLM's part in the decision that opened it."""

    llm_adjustment: float
    verdict_without_llm: str  # "enter" when the entry would have happened anyway
    pnl_net_cents: int


@dataclass(frozen=True, slots=True)
class Attribution:
    """What the LLM was worth: trades it enabled, vetoes followed as shadows, win rates."""

    enabled_trades: int
    enabled_pnl_usd: float
    vetoed: int
    avoided_loss_usd: float
    missed_gain_usd: float
    agreed_trades: int
    agreed_win_rate: float | None
    disagreed_trades: int
    disagreed_win_rate: float | None


def _win_rate(pnls: list[int]) -> float | None:
    return sum(1 for p in pnls if p > 0) / len(pnls) if pnls else None


def attribute(entries: Iterable[EntryOutcome], shadow_pnls_cents: Iterable[int]) -> Attribution:
    """Entries the LLM enabled (and their net P&L), entries it skipped (their shadows' gross
    P&L split into loss avoided and gain missed), and win rates when it agreed or disagreed."""
    rows = list(entries)
    enabled = [r.pnl_net_cents for r in rows if r.verdict_without_llm != "enter"]
    agreed = [r.pnl_net_cents for r in rows if r.llm_adjustment > 0]
    disagreed = [r.pnl_net_cents for r in rows if r.llm_adjustment < 0]
    shadows = [int(p) for p in shadow_pnls_cents]
    return Attribution(
        enabled_trades=len(enabled), enabled_pnl_usd=sum(enabled) / 100, vetoed=len(shadows),
        avoided_loss_usd=-sum(p for p in shadows if p < 0) / 100,
        missed_gain_usd=sum(p for p in shadows if p > 0) / 100,
        agreed_trades=len(agreed), agreed_win_rate=_win_rate(agreed),
        disagreed_trades=len(disagreed), disagreed_win_rate=_win_rate(disagreed),
    )

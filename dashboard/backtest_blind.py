"""Blind vs plain: how much of an LLM backtest's result is the model remembering the days.

A plain ``--llm record`` prompt carries the date and absolute prices, so a model trained on the
web may recall what ES did that day; a blind one (``--blind``, ``bot/llm/blind.py``) cannot.
Two runs over the same bars with the same settings, one of each, measure that memory:
``plain − blind`` in trades, P&L and the calibration of the runs' LLM answers (hit rate, Brier
score, skill: ``shared.domain.calibration``, scored from the data by the backtest's ledger).
A model that remembers shows a higher hit rate, a lower Brier score and more P&L plain.
Runs that differ in anything but ``llm_blind`` are not compared (the difference would measure
that too).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pandas as pd

from dashboard import fmt
from dashboard.backtest_charts import format_metric, has_llm
from shared.domain.calibration import wilson

DIFFERENCE = "measured memorisation = plain − blind"
BLIND_CHOICES = {"as usual (plain)": (False,), "date-blind": (True,),
                 "compare plain / blind": (False, True)}
# what may differ between the two runs of a pair (nothing else: same bars, same settings)
PAIR_FREE_KEYS = frozenset({"llm_blind"})
# (metric key, row title, kind); kinds: int, usd, pct (a share), brier, ratio
ROWS = (
    ("trades", "Trades", "int"),
    ("net_pnl_cents", "Net P&L", "usd"),
    ("win_rate", "Win rate", "pct"),
    ("max_drawdown_cents", "Max drawdown", "usd"),
    ("llm_replies_applied", "Replies used", "int"),
    ("llm_vetoed_decisions", "Entries vetoed", "int"),
    ("llm_scored_calls", "LLM answers scored", "int"),
    ("llm_hit_rate", "Hit rate", "pct"),
    ("llm_base_rate", "Base rate (commonest move)", "pct"),
    ("llm_brier", "Brier score (lower is better)", "brier"),
    ("llm_skill", "Skill (0 to 1)", "ratio"),
)


BLIND_SOURCES = ("record", "replay-cache")


def check_choice(choice: str, source: str) -> None:
    """ValueError naming the problem when blind prompts are asked of a source without prompts."""
    if True in BLIND_CHOICES[choice] and source not in BLIND_SOURCES:
        raise ValueError(f"Prompts {choice!r}: only record and replay-cache runs send prompts "
                         f"(LLM is {source})")


@dataclass(frozen=True, slots=True)
class BlindPair:
    """A plain and a blind LLM run among those shown, and what else differs between them."""

    plain: str
    blind: str
    differing: tuple[str, ...]


def is_blind(request: dict[str, Any]) -> bool:
    return bool(request.get("llm_blind"))


def find_pair(runs: dict[str, tuple[dict[str, Any], dict[str, Any]]]) -> BlindPair | None:
    """The first blind LLM run and the plain LLM run most like it (``runs``: label ->
    (request, metrics)); None without one of each."""
    llm = {label: request for label, (request, metrics) in runs.items() if has_llm(metrics)}
    blind = [label for label, request in llm.items() if is_blind(request)]
    plain = [label for label, request in llm.items() if not is_blind(request)]
    if not blind or not plain:
        return None
    pairs = [BlindPair(p, blind[0], differing(llm[p], llm[blind[0]])) for p in plain]
    return min(pairs, key=lambda pair: len(pair.differing))


def pair_among(rows: dict[str, dict[str, Any]], metrics: dict[str, dict[str, Any]]
               ) -> BlindPair | None:
    """``find_pair`` over the page's stored run rows (label -> row) and their metrics."""
    return find_pair({label: (json.loads(row.get("request_json") or "{}"), metrics[label])
                      for label, row in rows.items()})


def differing(first: dict[str, Any], second: dict[str, Any]) -> tuple[str, ...]:
    """The request fields (other than ``llm_blind``) whose values differ."""
    keys = (set(first) | set(second)) - PAIR_FREE_KEYS
    return tuple(sorted(k for k in keys if first.get(k) != second.get(k)))


def difference(plain: Any, blind: Any) -> float | None:
    """``plain − blind`` (None when either is not defined)."""
    if not isinstance(plain, int | float) or not isinstance(blind, int | float):
        return None
    return float(plain) - float(blind)


def _signed(value: float | None, kind: str) -> str:
    if value is None:
        return fmt.DASH
    if kind == "usd":
        return fmt.signed_usd(value)
    if kind == "pct":
        return f"{100 * value:+.1f} pp"
    if kind == "brier":
        return f"{value:+.4f}"
    if kind == "int":
        return f"{value:+,.0f}"
    return f"{value:+.2f}"


def _value(value: Any, kind: str) -> str:
    if kind == "brier":
        return fmt.DASH if value is None else f"{value:.4f}"
    return format_metric(value, kind)


def hit_interval(metrics: dict[str, Any]) -> str:
    """The hit rate's 95 % Wilson interval from the scored answers (a dash without any)."""
    calls, rate = metrics.get("llm_scored_calls"), metrics.get("llm_hit_rate")
    if not calls or rate is None:
        return fmt.DASH
    low, high = wilson(round(rate * calls), int(calls))
    return f"{100 * low:.1f}% – {100 * high:.1f}%"


def memorisation_frame(plain: dict[str, Any], blind: dict[str, Any],
                       labels: tuple[str, str]) -> pd.DataFrame:
    """Plain, blind and ``plain − blind`` side by side, one row per figure."""
    rows: dict[str, list[str]] = {}
    for key, title, kind in ROWS:
        rows[title] = [_value(plain.get(key), kind), _value(blind.get(key), kind),
                       _signed(difference(plain.get(key), blind.get(key)), kind)]
        if key == "llm_hit_rate":
            rows["Hit rate, 95% interval"] = [hit_interval(plain), hit_interval(blind), ""]
    columns = [f"plain: {labels[0]}", f"blind: {labels[1]}", DIFFERENCE]
    return pd.DataFrame.from_dict(rows, orient="index", columns=columns)


def pair_note(pair: BlindPair) -> str:
    """Why a pair is not compared (empty when it is)."""
    if not pair.differing:
        return ""
    return (f"{pair.plain} and {pair.blind} differ in {', '.join(pair.differing)}, not only "
            "in blind prompts: plain − blind would measure that too. Launch them together "
            "(Prompts: compare plain / blind) to measure the memorisation.")

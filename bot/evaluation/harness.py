"""Judge one learning layer as a trader would: on vs off, against a placebo, with an interval,
and out of sample (DESIGN §4.14).

On the same bars: the backtest with the layer off and on; ``seeds`` placebo runs on the
research backends (a refusing layer's placebo refuses as many entries at random,
``PlaceboGate``; a nudging layer's shuffles its answers in time); the layer's percentile among
the placebo runs by net P&L; a day-paired bootstrap interval of the on - off difference in
$/trade and net P&L; and a walk-forward form: the same comparison on the bars after
``split_fraction`` only, where memory starts seeded with every setup of the bars before (the
other layers learn nothing from these bars, so for them it is the later part alone). Each form
ends in a plain verdict (``bot.evaluation.stats.verdict``).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from bot.backtest.data import BarData
from bot.backtest.runner import trading_days
from bot.evaluation.runs import EvalOutcome, EvalTask, Placebo, daily, run_eval_task
from bot.evaluation.stats import (
    DEFAULT_RESAMPLES,
    bootstrap_difference,
    percentile_of,
    verdict,
)
from bot.research.scaleout import Backend, run_many
from shared.config.backtest_request import BacktestRequest

logger = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
LAYERS = ("memory", "rules", "llm", "news")


@dataclass(frozen=True)
class EvalPlan:
    """What to evaluate and how hard."""

    layer: str
    request: BacktestRequest
    seeds: int = 20
    resamples: int = DEFAULT_RESAMPLES
    split_fraction: float = 0.5
    bootstrap_seed: int = 0
    rules: tuple[Any, ...] = ()
    llm_journal: str | None = None
    headlines: tuple[Any, ...] = ()


def _usd(cents: Any) -> float | None:
    return None if cents is None else round(float(cents) / 100, 2)


def run_summary(outcome: EvalOutcome) -> dict[str, Any]:
    """Trades, net, $/trade, max drawdown, profit factor (dollars), and what was refused."""
    m = outcome.metrics
    trades = int(m.get("trades") or 0)
    net = (m.get("net_pnl_cents") or 0) / 100
    factor = m.get("profit_factor")
    nudges = {k.removeprefix("llm_"): m[k] for k in ("llm_replies_applied",
              "llm_nudged_decisions", "llm_vetoed_decisions") if m.get(k) is not None}
    return {**nudges, "trades": trades, "net_usd": round(net, 2),
            "per_trade_usd": round(net / trades, 2) if trades else None,
            "max_drawdown_usd": _usd(m.get("max_drawdown_cents")),
            "profit_factor": round(factor, 3) if isinstance(factor, float)
            and math.isfinite(factor) else None,
            "refused": outcome.refused, "placebo_refused": outcome.placebo_refused}


def _placebo_tasks(plan: EvalPlan, base: EvalTask, on: EvalOutcome, prefix: str
                   ) -> list[EvalTask]:
    if plan.layer in ("llm", "news"):  # nudging layers: the same answers, shuffled in time
        return [replace(base, key=f"{prefix}-placebo-{seed}", shuffle_seed=seed)
                for seed in range(plan.seeds)]
    pool = int(on.metrics.get("trades") or 0) + on.refused
    return [replace(base, key=f"{prefix}-placebo-{seed}", layer_on=False,
                    placebo=Placebo(seed, on.refused, pool)) for seed in range(plan.seeds)]


def judge(plan: EvalPlan, data: BarData, off: EvalOutcome, on: EvalOutcome,
          placebo: Sequence[EvalOutcome]) -> dict[str, Any]:
    """One form's evidence: on, off, placebo distribution, percentile, bootstrap, verdict."""
    days = [d.isoformat() for d in trading_days(data)]
    on_net, on_n = daily(on.trades, days)
    off_net, off_n = daily(off.trades, days)
    boot = bootstrap_difference(on_net, on_n, off_net, off_n, plan.bootstrap_seed,
                                plan.resamples)
    on_summary = run_summary(on)
    nets = [run_summary(p)["net_usd"] for p in placebo]
    percentile = percentile_of(on_summary["net_usd"], nets)
    mean = sum(nets) / len(nets) if nets else None
    spread = (math.sqrt(sum((n - mean) ** 2 for n in nets) / (len(nets) - 1))
              if mean is not None and len(nets) > 1 else None)
    return {
        "off": run_summary(off), "on": on_summary,
        "placebo": {"runs": len(nets), "net_usd": nets,
                    "mean_net_usd": None if mean is None else round(mean, 2),
                    "std_net_usd": None if spread is None else round(spread, 2),
                    "refused": [p.placebo_refused for p in placebo],
                    "at_least_as_good": sum(1 for n in nets if n >= on_summary["net_usd"])},
        "percentile": None if math.isnan(percentile) else round(percentile, 1),
        "bootstrap": {"days": boot.days, "resamples": boot.resamples,
                      "per_trade_usd": boot.per_trade_usd.as_dict(),
                      "net_usd": boot.net_usd.as_dict()},
        "verdict": verdict(percentile, boot.per_trade_usd),
    }


def evaluate(plan: EvalPlan, data: BarData, backend: Backend,
             progress: Progress | None = None) -> dict[str, Any]:
    """Evaluate ``plan.layer`` on ``data``; return the evidence document (JSON-ready)."""
    request_json = plan.request.to_json()
    split = data.first + int((len(data) - data.first) * plan.split_fraction)
    base = EvalTask("", request_json, True, plan.layer, rules=plan.rules,
                    llm_journal=plan.llm_journal, headlines=plan.headlines)
    first = [replace(base, key="off", layer_on=False), replace(base, key="on"),
             replace(base, key="wf-off", layer_on=False, split=split),
             replace(base, key="wf-on", split=split)]
    total = len(first) + 2 * plan.seeds
    done = [0]

    def tick(step: int, _: int) -> None:
        if progress is not None:
            progress(done[0] + step, total)

    found = run_many(first, run_eval_task, data, backend, tick)
    done[0] = len(first)
    placebo = [*_placebo_tasks(plan, base, found["on"], "full"),
               *_placebo_tasks(plan, replace(base, split=split), found["wf-on"], "wf")]
    found.update(run_many(placebo, run_eval_task, data, backend, tick))
    full = judge(plan, data, found["off"], found["on"],
                 [found[f"full-placebo-{s}"] for s in range(plan.seeds)])
    later = data.slice(0, len(data), first=split)
    walk = judge(plan, later, found["wf-off"], found["wf-on"],
                 [found[f"wf-placebo-{s}"] for s in range(plan.seeds)])
    walk["split_at"] = data.ts(split).isoformat()
    logger.info("%s: %s; walk-forward: %s", plan.layer, full["verdict"], walk["verdict"])
    return {"layer": plan.layer, "seeds": plan.seeds, "backend": backend.describe(),
            "request": plan.request.model_dump(mode="json"), "bars": len(data) - data.first,
            "whole_run": full, "walk_forward": walk,
            "verdict": full["verdict"], "walk_forward_verdict": walk["verdict"]}

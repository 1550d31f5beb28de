"""The nightly review of one trading day: proposals judged out of sample, and a lesson.

The review's window is split in two. The gate window is the last ``learning.backtest_days``
trading days, ending on the reviewed day; the mining window is the ``learning.lookback_days``
trading days before it. Typed rule proposals are mined from the trades that closed in the
mining window (``proposals``), then each is judged on the gate window only, days it was not
mined from (``gate``: journaled bars with and without it, the live bot's LLM replies
replayed, a seeded placebo p-value: a refusing rule's refused trades against as many random
trades of the same run). The p-values of all rules gated in one review are
corrected together (Benjamini-Hochberg, ``learning.gate_alpha``); a rule *passed out of sample*
when the gate improved net P&L by more than ``learning.min_improvement_usd`` and its q-value is
within alpha. Proposals are stored as ``proposed`` with their in-sample and out-of-sample
evidence side by side (approved by ``auto`` only when ``learning.auto_apply`` and it passed);
a proposal whose gate acted on too few trades to judge it goes on probation and later reviews
add the new days' trades to its evidence until it is tested once more (``probation``; the first
gate then spends half of alpha). The LLM, governed, writes a short lesson. Runs as its own
process (``python -m bot review``), never in the trading loop.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from bot.adapters.rule_book import approved_book
from bot.core.memory import FEATURE_SCHEMA_VERSION
from bot.core.sessions import CmeSessionClock
from bot.learning import probation_review
from bot.learning.gate import GateInputs, GateResult, bar_data, gate, gate_baseline
from bot.learning.gate_llm import applied_replies
from bot.learning.lesson import ask_lesson
from bot.learning.oos_stats import benjamini_hochberg
from bot.learning.probation import first_gate_alpha, lacked_power
from bot.learning.probation_review import ProbationOutcome
from bot.learning.proposal_notice import record_proposals
from bot.learning.proposals import MiningLimits, Proposal, propose
from bot.llm.types import Provider
from shared.config.settings import Settings
from shared.domain.instruments import get_instrument
from shared.domain.memory import MemoryRow
from shared.domain.rules import LearnedRule, RuleKind, RuleStatus, parse_rule
from shared.persistence import learning_queries, memory_store, probation_store, rules_store
from shared.persistence.db import write_transaction
from shared.persistence.learning_queries import ReviewTrade

logger = logging.getLogger(__name__)

AUTHOR = "review"
AUTO_AUTHOR = "auto"


@dataclass(frozen=True)
class ReviewReport:
    """What one review did."""

    day: str
    run_id: int
    trades_reviewed: int
    day_trades: int
    proposed: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    expired: list[int] = field(default_factory=list)
    lesson: str | None = None
    lesson_status: str = ""
    probation: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """The review run's stored summary."""
        return {"day": self.day, "trades_reviewed": self.trades_reviewed,
                "day_trades": self.day_trades, "proposed": self.proposed,
                "skipped": self.skipped, "expired": self.expired,
                "probation": self.probation, "lesson_status": self.lesson_status}


def _journal_summary(day: str, trades: list[ReviewTrade], activity: Any,
                     proposals: list[Proposal]) -> dict[str, Any]:
    """What the lesson prompt is told: the day's trades, decisions, LLM use and proposals."""
    return {
        "day": day,
        "trades": [{"id": t.trade_id, "side": t.side, "trend": t.trend,
                    "volatility": t.volatility, "time_bucket": t.time_bucket,
                    "exit_reason": t.exit_reason, "pnl_usd": t.pnl_net_cents / 100,
                    "entry_confidence": t.entry_confidence,
                    "llm_call_in_force": t.llm_call_id} for t in trades][:40],
        "decisions": activity.decisions, "entries": activity.entries,
        "rejections_by_rule": activity.rejections_by_rule,
        "llm_calls": activity.llm_calls_by_status,
        "proposed_rules": [p.summary for p in proposals],
    }


def _candidate(proposal: Proposal, expires_at: datetime) -> LearnedRule:
    return LearnedRule(0, proposal.kind, proposal.bucket, expires_at,
                       proposal.params.get("min_confidence"),
                       proposal.params.get("max_hold_minutes"))


def review_day(
    conn: sqlite3.Connection, settings: Settings, day: date, clock: CmeSessionClock,
    wall_clock: Callable[[], datetime], provider: Provider | None = None,
) -> ReviewReport:
    """Review ``day`` (a CME trading day); ValueError if it is not one."""
    day_open, day_end = clock.session_bounds(day)
    wall_now = wall_clock()
    with write_transaction(conn):
        run_id = rules_store.start_review_run(conn, day.isoformat(), wall_now)
        expired = rules_store.expire_due_rules(conn, wall_now, AUTHOR)
    try:
        report = _review(conn, settings, day, (day_open, day_end), clock, wall_clock, provider,
                         run_id, expired)
    except Exception as exc:
        with write_transaction(conn):
            rules_store.finish_review_run(conn, run_id, "failed", f"{type(exc).__name__}: {exc}",
                                          {}, wall_clock())
        raise
    message = f"{len(report.proposed)} rule(s) proposed; {report.lesson_status}"
    with write_transaction(conn):
        rules_store.finish_review_run(conn, run_id, "done", message, report.summary(),
                                      wall_clock())
        record_proposals(conn, report.day, report.proposed, wall_clock())
    logger.info("review of %s: %s", day, message)
    return report


@dataclass(frozen=True, slots=True)
class ReviewWindows:
    """The mining days (earlier) and the gate days (later, ending on the reviewed day)."""

    mining: list[date]
    gate: list[date]


def review_windows(clock: CmeSessionClock, day: date, lookback_days: int,
                   gate_days: int) -> ReviewWindows:
    """Split the review's days: ``lookback_days`` mined, then ``gate_days`` gated."""
    days = clock.trading_days_through(day, lookback_days + gate_days)
    return ReviewWindows(days[:-gate_days], days[-gate_days:])


def _review(
    conn: sqlite3.Connection, settings: Settings, day: date, bounds: tuple[datetime, datetime],
    clock: CmeSessionClock, wall_clock: Callable[[], datetime], provider: Provider | None,
    run_id: int, expired: list[int],
) -> ReviewReport:
    learning = settings.learning
    day_open, day_end = bounds
    windows = review_windows(clock, day, learning.lookback_days, learning.backtest_days)
    gate_open = clock.session_bounds(windows.gate[0])[0]
    trades = learning_queries.review_trades(conn, clock.session_bounds(windows.mining[0])[0],
                                            gate_open) if windows.mining else []
    day_trades = learning_queries.review_trades(conn, day_open, day_end)
    limits = MiningLimits(learning.min_sample, learning.min_losses,
                          settings.risk.min_weighted_confidence, settings.risk.max_hold_minutes)
    window = (windows.mining[0], windows.mining[-1]) if windows.mining else (day, day)
    proposals = propose(trades, window, limits) if windows.mining else []
    report = ReviewReport(day.isoformat(), run_id, len(trades), len(day_trades), expired=expired)
    inputs = _gate_inputs(conn, settings, clock, windows.gate, day_end)
    approved, _ = approved_book(conn, wall_clock())
    fresh = _not_open(conn, proposals, report)
    results = _gate_all(settings, fresh, inputs, approved, wall_clock)
    passed = _correct(settings, results)
    failure = inputs if isinstance(inputs, dict) else None
    for proposal, result, ok in zip(fresh, results, passed, strict=True):
        _store(conn, settings, proposal, result or failure or {}, ok, wall_clock, report)
    probation = _probation(conn, settings, clock, day, day_end, approved, wall_clock, report)
    if learning.probation_reviews and windows.mining:
        unpassed = [(p, r) for p, r, ok in zip(fresh, results, passed, strict=True)
                    if isinstance(r, GateResult) and not ok and lacked_power(r, learning)]
        probation.started = probation_review.start(
            conn, report.day, windows.mining[-1], unpassed,
            [d.isoformat() for d in windows.gate], wall_clock())
    activity = learning_queries.day_activity(conn, day_open, day_end)
    journal = _journal_summary(day.isoformat(), day_trades, activity, proposals)
    if day_trades:
        text, call_id, status = ask_lesson(conn, settings, day.isoformat(), journal,
                                           wall_clock, provider)
    else:
        text, call_id, status = None, None, "no trades that day: no lesson asked"
    if text:
        with write_transaction(conn):
            rules_store.insert_lesson(conn, day.isoformat(), text, call_id, wall_clock())
    return ReviewReport(report.day, run_id, report.trades_reviewed, report.day_trades,
                        report.proposed, report.skipped, expired, text, status,
                        probation.summary())


def _gate_inputs(conn: sqlite3.Connection, settings: Settings, clock: CmeSessionClock,
                 gate_days: list[date], day_end: datetime) -> GateInputs | dict[str, Any]:
    """The gate's bars, memory and LLM replies; or why it cannot run (no journaled bars)."""
    start = clock.session_bounds(gate_days[0])[0]
    names = [d.isoformat() for d in gate_days]
    symbol = get_instrument(settings.instrument.symbol).symbol
    bars = learning_queries.bars_between(conn, symbol, start, day_end)
    if len(bars) < 2:
        return {"error": "no journaled bars for the gate days", "days": names}
    warm = learning_queries.bars_before(conn, symbol, start, settings.features.window_bars)
    data = bar_data(warm + bars, len(warm))
    stamps = {b.ts for b in bars}
    missing = [d.isoformat() for d in gate_days
               if not any(_within(ts, clock.session_bounds(d)) for ts in stamps)]
    if missing:
        logger.warning("gate days without journaled bars (engine.bars_retention_days?): %s",
                       ", ".join(missing))
    return GateInputs(data, names, _memory_before(conn, settings, data),
                      applied_replies(conn, data, settings), missing)


def _within(ts: datetime, bounds: tuple[datetime, datetime]) -> bool:
    return bounds[0] <= ts < bounds[1]


def _memory_before(conn: sqlite3.Connection, settings: Settings, data: Any) -> list[MemoryRow]:
    """With memory on: the journal's setups closed before the gate's first decision bar."""
    if not settings.memory.enabled:
        return []
    return memory_store.closed_memory_rows(conn, FEATURE_SCHEMA_VERSION, data.ts(data.first))


def _not_open(conn: sqlite3.Connection, proposals: list[Proposal],
              report: ReviewReport) -> list[Proposal]:
    """Proposals not already proposed or approved (those are named in ``skipped``)."""
    fresh = []
    for proposal in proposals:
        existing = rules_store.open_rule_with(conn, proposal.fingerprint())
        waiting = probation_store.on_probation_with(conn, proposal.fingerprint())
        if existing is not None:
            report.skipped.append(f"{proposal.summary}: already {existing.status.value} as rule "
                                  f"#{existing.id}")
        elif waiting is not None:
            report.skipped.append(f"{proposal.summary}: on probation since the review of "
                                  f"{waiting.review_day} (#{waiting.id})")
        else:
            fresh.append(proposal)
    return fresh


def _gate_all(settings: Settings, proposals: list[Proposal],
              inputs: GateInputs | dict[str, Any], approved: Any,
              wall_clock: Callable[[], datetime]) -> list[GateResult | None]:
    """Each proposal's gate result (None when the gate could not run)."""
    if not isinstance(inputs, GateInputs):
        return [None] * len(proposals)
    learning = settings.learning
    results: list[GateResult | None] = []
    baseline = gate_baseline(settings, inputs, approved) if proposals else None
    for proposal in proposals:
        expires_at = wall_clock() + timedelta(days=learning.rule_ttl_days)
        seed = learning.gate_seed * 1_000_003 + int(proposal.fingerprint()[:8], 16)
        results.append(gate(settings, inputs, approved, _candidate(proposal, expires_at),
                            round(learning.min_improvement_usd * 100), seed, baseline))
    if inputs.days_without_bars:
        for result in results:
            if result is not None:
                result.document["days_without_bars"] = list(inputs.days_without_bars)
    return results


def _correct(settings: Settings, results: list[GateResult | None]) -> list[bool]:
    """Benjamini-Hochberg over the rules gated in this review: which passed out of sample.

    With probation on, a first gate spends half of ``gate_alpha`` (``probation``)."""
    alpha = first_gate_alpha(settings.learning)
    gated = [r for r in results if r is not None]
    q_values = iter(benjamini_hochberg([r.p_value for r in gated]))
    passed = []
    for result in results:
        if result is None:
            passed.append(False)
            continue
        q_value = next(q_values)
        ok = result.improved and q_value <= alpha
        result.document.update({"q_value": q_value, "alpha": alpha,
                                "rules_tested": len(gated), "passed": ok})
        passed.append(ok)
    return passed


def _probation(conn: sqlite3.Connection, settings: Settings, clock: CmeSessionClock, day: date,
               day_end: datetime, approved: Any, wall_clock: Callable[[], datetime],
               report: ReviewReport) -> ProbationOutcome:
    """Advance the candidates on probation by the new days; propose those that passed."""
    outcome = ProbationOutcome()
    if not settings.learning.probation_reviews:
        return outcome
    trading_days = clock.trading_days_through(day, settings.engine.bars_retention_days + 2)
    due = probation_review.advance(
        conn, settings, trading_days,
        lambda days: _gate_inputs(conn, settings, clock, days, day_end), approved, wall_clock,
        outcome)
    for test, _, ok in probation_review.correct(settings, due):
        rule_id = _store_probation_pass(conn, settings, test, wall_clock, report) if ok else None
        probation_review.finish(conn, test, ok, rule_id, wall_clock())
        if ok:
            outcome.passed.append((test, test.document["q_value"]))
        else:
            outcome.failed.append(test.row.id)
    return outcome


def _store_probation_pass(conn: sqlite3.Connection, settings: Settings, test: Any,
                          wall_clock: Callable[[], datetime], report: ReviewReport) -> int:
    """Propose a candidate that passed on probation, with the pooled out-of-sample evidence
    beside its in-sample one; an open proposal of the same rule (its failed first gate) is
    superseded."""
    row, backtest = test.row, test.document
    mined = row.proposal["evidence"]
    proposal = Proposal(RuleKind(row.kind), parse_rule(0, row.kind, row.params_json,
                                                       wall_clock()).bucket,
                        row.proposal["params"], row.summary, mined)
    with write_transaction(conn):
        earlier = rules_store.open_rule_with(conn, row.fingerprint)
        if earlier is not None and earlier.status is RuleStatus.PROPOSED:
            rules_store.decide_rule(conn, earlier.id, RuleStatus.EXPIRED, AUTHOR,
                                    f"superseded: passed on probation #{row.id}", wall_clock())
    _store(conn, settings, proposal, GateResult(backtest, True, test.p_value), True, wall_clock,
           report)
    return int(report.proposed[-1]["rule_id"])


def in_sample_effect(proposal: Proposal) -> int | None:
    """What the rule would have changed on its mining trades (cents), where it can be counted.

    A lock removes the bucket's trades, a raised threshold the trades below it; a shorter time
    exit needs a replay of the mined days' bars (not kept that long): None.
    """
    evidence = proposal.evidence
    if proposal.kind is RuleKind.LOCK_BUCKET:
        return -int(evidence["net_pnl_cents"])
    if proposal.kind is RuleKind.RAISE_THRESHOLD:
        return -int(evidence["removed_pnl_cents"])
    return None


def out_of_sample_summary(document: dict[str, Any]) -> dict[str, Any]:
    """The gate's verdict as the rule's evidence shows it beside the in-sample one."""
    if "error" in document:
        return {"days": document.get("days", []), "passed": False,
                "not_run": document["error"]}
    keys = ("days", "improvement_cents", "trades_removed", "trades_refused",
            "refused_net_cents", "trades_added", "trades_changed",
            "placebo_mean_cents", "effect_ci_cents", "p_value", "q_value", "alpha",
            "rules_tested", "passed")
    return {k: document.get(k) for k in keys} | {
        "trades_without": document["without"]["trades"],
        "trades_with": document["with"]["trades"]}


def _store(conn: sqlite3.Connection, settings: Settings, proposal: Proposal,
           result: GateResult | dict[str, Any], passed: bool,
           wall_clock: Callable[[], datetime], report: ReviewReport) -> None:
    """Store one gated proposal (auto-approved when configured and it passed out of sample).

    ``result`` is the gate's, or the document saying why the gate could not run.
    """
    learning = settings.learning
    expires_at = wall_clock() + timedelta(days=learning.rule_ttl_days)
    backtest: dict[str, Any]
    improved: bool | None
    if isinstance(result, GateResult):
        backtest, improved = result.document, passed
    else:
        backtest, improved = dict(result), None
    in_sample = {"days": proposal.evidence["window"], "trades": proposal.evidence["trades"],
                 "net_pnl_cents": proposal.evidence["net_pnl_cents"],
                 "estimated_improvement_cents": in_sample_effect(proposal)}
    evidence = proposal.evidence | {"in_sample": in_sample,
                                    "out_of_sample": out_of_sample_summary(backtest)}
    new = rules_store.NewRule(
        review_day=report.day, kind=proposal.kind.value,
        params_json=json.dumps(proposal.params, sort_keys=True),
        fingerprint=proposal.fingerprint(), summary=proposal.summary, evidence=evidence,
        backtest=backtest, improved=improved, expires_at=expires_at)
    status = RuleStatus.PROPOSED
    with write_transaction(conn):
        rule_id = rules_store.insert_rule(conn, new, AUTHOR, wall_clock())
        if learning.auto_apply and passed:
            gain = backtest["improvement_cents"] / 100
            rules_store.decide_rule(
                conn, rule_id, RuleStatus.APPROVED, AUTO_AUTHOR,
                f"auto-applied: out of sample it improved net P&L by ${gain:,.2f} "
                f"(q={backtest['q_value']:.3f} <= {backtest['alpha']:g})", wall_clock())
            status = RuleStatus.APPROVED
    report.proposed.append({"rule_id": rule_id, "kind": proposal.kind.value,
                            "summary": proposal.summary, "improved": improved,
                            "passed_out_of_sample": passed, "status": status.value})

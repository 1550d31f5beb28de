"""The review's probation steps: put unpassed candidates on probation, then advance them.

``start`` journals each candidate whose first gate ran but did not pass, with that gate's
evidence. ``advance`` gates every candidate on probation on the days after its evidence (the
reviewed day, normally), adds them, and when a candidate acted on ``probation_sample`` trades
out of sample tests it once over all of them; the tests of one review are corrected together
(Benjamini-Hochberg at ``final_test_alpha``). See ``probation`` for the reasoning.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from bot.core.rules import RuleBook
from bot.learning.gate import Baseline, GateInputs, GateResult, gate, gate_baseline
from bot.learning.oos_stats import benjamini_hochberg
from bot.learning.probation import (
    FinalTest,
    acted_on,
    evidence_of,
    final_test,
    final_test_alpha,
    merged,
    new_days,
    probation_sample,
)
from bot.learning.proposals import Proposal
from shared.config.settings import Settings
from shared.domain.rules import RuleStatus, parse_rule
from shared.persistence import probation_store, rules_store
from shared.persistence.db import write_transaction
from shared.persistence.probation_store import NewProbation, ProbationRow

logger = logging.getLogger(__name__)

InputsFor = Callable[[list[date]], "GateInputs | dict[str, Any]"]


@dataclass
class ProbationOutcome:
    """What one review did with the candidates on probation."""

    started: int = 0
    gated: int = 0
    passed: list[tuple[FinalTest, float]] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    expired: list[int] = field(default_factory=list)
    ended_decided: list[int] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {"started": self.started, "gated": self.gated,
                "passed": [t.row.id for t, _ in self.passed], "failed": self.failed,
                "expired": self.expired, "decided": self.ended_decided}


def start(conn: sqlite3.Connection, review_day: str, mined_until: date,
          candidates: Sequence[tuple[Proposal, GateResult]], gate_days: list[str],
          at: datetime) -> int:
    """Journal each (proposal, first gate) pair as a candidate on probation."""
    with write_transaction(conn):
        for proposal, result in candidates:
            probation_store.insert_probation(conn, NewProbation(
                review_day=review_day, mined_until=mined_until.isoformat(),
                kind=proposal.kind.value, params_json=_params_json(proposal),
                fingerprint=proposal.fingerprint(), summary=proposal.summary,
                proposal={"evidence": proposal.evidence, "params": proposal.params},
                evidence=evidence_of(result, gate_days)), at)
    return len(candidates)


def _params_json(proposal: Proposal) -> str:
    return json.dumps(proposal.params, sort_keys=True)


def advance(conn: sqlite3.Connection, settings: Settings, trading_days: list[date],
            inputs_for: InputsFor, approved: RuleBook, wall_clock: Callable[[], datetime],
            outcome: ProbationOutcome) -> list[FinalTest]:
    """Gate each candidate on probation on its new days; return the final tests due now
    (their evidence not yet stored), having stored the others' and ended the expired ones."""
    learning = settings.learning
    due: list[FinalTest] = []
    cached = _Cached(settings, inputs_for, approved)
    for row in probation_store.on_probation(conn):
        opened = rules_store.open_rule_with(conn, row.fingerprint)
        if opened is not None and opened.status is RuleStatus.APPROVED:
            _end(conn, row, "decided", f"rule #{opened.id} was approved meanwhile",
                 wall_clock())
            outcome.ended_decided.append(row.id)
            continue
        days = new_days(trading_days, row)
        if not days:
            continue  # started by this review: its evidence already ends on the reviewed day
        evidence = _with_new_days(settings, row, days, cached, wall_clock)
        outcome.gated += 1
        if acted_on(evidence) >= probation_sample(learning):
            seed = learning.gate_seed * 1_000_003 + int(row.fingerprint[:8], 16) + 1
            due.append(final_test(row, evidence, learning, seed))
        elif row.reviews + 1 >= learning.probation_reviews:
            with write_transaction(conn):
                probation_store.add_evidence(conn, row.id, evidence, wall_clock())
            _end(conn, row, "expired", f"{acted_on(evidence)} of {probation_sample(learning)} "
                 f"trades out of sample after {row.reviews + 1} reviews", wall_clock())
            outcome.expired.append(row.id)
        else:
            with write_transaction(conn):
                probation_store.add_evidence(conn, row.id, evidence, wall_clock())
    return due


class _Cached:
    """Each span of new days' gate inputs and "without" run, built once per review."""

    def __init__(self, settings: Settings, inputs_for: InputsFor, approved: RuleBook) -> None:
        self.settings, self.inputs_for, self.approved = settings, inputs_for, approved
        self.spans: dict[tuple[date, ...], tuple[Any, Baseline | None]] = {}

    def get(self, days: list[date]) -> tuple[GateInputs | dict[str, Any], Baseline | None]:
        key = tuple(days)
        if key not in self.spans:
            inputs = self.inputs_for(days)
            baseline = None
            if isinstance(inputs, GateInputs):
                baseline = gate_baseline(self.settings, inputs, self.approved)
            else:
                logger.warning("probation: %s: %s (no evidence added for them)",
                               inputs.get("error"), [d.isoformat() for d in days])
            self.spans[key] = (inputs, baseline)
        return self.spans[key]


def _with_new_days(settings: Settings, row: ProbationRow, days: list[date], cached: _Cached,
                   wall_clock: Callable[[], datetime]) -> dict[str, Any]:
    """The row's evidence plus the gate of ``days`` (no trades when they have no bars)."""
    names = [d.isoformat() for d in days]
    inputs, baseline = cached.get(days)
    if not isinstance(inputs, GateInputs):
        empty = {"days": names, "bars": 0, "removed_cents": [], "added_cents": [],
                 "changed_cents": [], "without_pnls_cents": []}
        return merged(row.evidence, empty)
    learning = settings.learning
    candidate = parse_rule(0, row.kind, row.params_json,
                           wall_clock() + timedelta(days=learning.rule_ttl_days))
    seed = learning.gate_seed * 1_000_003 + int(row.fingerprint[:8], 16)
    result = gate(settings, inputs, cached.approved, candidate,
                  round(learning.min_improvement_usd * 100), seed, baseline)
    return merged(row.evidence, evidence_of(result, names))


def correct(settings: Settings, tests: list[FinalTest]) -> list[tuple[FinalTest, float, bool]]:
    """Benjamini-Hochberg over one review's final tests at ``final_test_alpha``."""
    alpha = final_test_alpha(settings.learning)
    q_values = benjamini_hochberg([t.p_value for t in tests])
    verdicts = []
    for test, q_value in zip(tests, q_values, strict=True):
        ok = bool(test.document["improved"]) and q_value <= alpha
        test.document.update({"q_value": q_value, "alpha": alpha,
                              "rules_tested": len(tests), "passed": ok})
        verdicts.append((test, q_value, ok))
    return verdicts


def finish(conn: sqlite3.Connection, test: FinalTest, passed: bool, rule_id: int | None,
           at: datetime) -> None:
    """Store a tested candidate's evidence and end its probation (passed or failed)."""
    with write_transaction(conn):
        probation_store.add_evidence(conn, test.row.id, test.evidence, at)
    doc = test.document
    note = (f"out of sample over {len(doc['days'])} days: {doc['trades_removed']} removed, "
            f"{doc['trades_changed']} changed, effect {doc['improvement_cents']:+d} cents, "
            f"p={doc['p_value']:.4f}, q={doc['q_value']:.4f}")
    _end(conn, test.row, "passed" if passed else "failed", note, at, rule_id)


def _end(conn: sqlite3.Connection, row: ProbationRow, status: str, note: str, at: datetime,
         rule_id: int | None = None) -> None:
    with write_transaction(conn):
        probation_store.end_probation(conn, row.id, status, note, at, rule_id)
    logger.info("probation #%d (%s): %s, %s", row.id, row.summary, status, note)

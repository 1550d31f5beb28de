"""The gates of one review share their "without the rule" run: computed once, same results."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.core.rules import RuleBook
from bot.learning import gate as gate_module
from bot.learning.gate import GateInputs, bar_data, gate
from shared.domain.models import Side
from shared.domain.rules import Bucket, LearnedRule, RuleKind
from tests.bot.learning.journal import day_bars, journal_settings

FAR = datetime(2030, 1, 1, tzinfo=UTC)
CANDIDATES = [LearnedRule(0, RuleKind.LOCK_BUCKET, Bucket(side=Side.LONG), FAR),
              LearnedRule(0, RuleKind.LOCK_BUCKET, Bucket(side=Side.SHORT), FAR),
              LearnedRule(0, RuleKind.SHORTEN_TIME_EXIT, Bucket(), FAR, max_hold_minutes=2.0)]


def _documents(settings, data, shared: bool) -> list[dict]:
    inputs, approved = GateInputs(data, ["2025-03-03"]), RuleBook()  # as one review has them
    results = []
    for number, candidate in enumerate(CANDIDATES):
        used = inputs if shared else GateInputs(data, ["2025-03-03"])
        results.append(gate(settings, used, approved, candidate, 0, seed=number).document)
    return results


def test_one_baseline_run_serves_every_candidate_with_the_same_documents(monkeypatch):
    settings = journal_settings({"feed": {"bar_seconds": 5},
                                 "learning": {"gate_permutations": 100}})
    data = bar_data(day_bars(3000), 500)
    runs = []
    real_run = gate_module._run
    monkeypatch.setattr(gate_module, "_run", lambda *a: runs.append(a[2]) or real_run(*a))
    fresh = _documents(settings, data, shared=False)
    assert len(runs) == 2 * len(CANDIDATES)
    runs.clear()
    shared = _documents(settings, data, shared=True)
    assert len(runs) == 1 + len(CANDIDATES)  # one "without" run, then each "with" run
    assert shared == fresh
    assert shared[0]["without"]["trades"] > 0 and shared[0]["trades_removed"] > 0
    shared[0]["without"]["trades"] = -1  # a document is its own copy
    assert shared[1]["without"]["trades"] == fresh[1]["without"]["trades"]

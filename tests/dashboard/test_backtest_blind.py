"""Pairing a blind and a plain LLM run, and the plain − blind figures (pure view code)."""

from __future__ import annotations

import pytest

from dashboard.backtest_blind import DIFFERENCE, check_choice, find_pair, memorisation_frame

pytestmark = pytest.mark.unit

REQUEST = {"data": "synthetic", "seed": 4, "llm": "record", "llm_blind": False}
LLM = {"llm_source": "record"}


def test_the_blind_run_pairs_with_the_plain_run_of_the_same_request():
    runs = {"a": ({**REQUEST, "seed": 9}, LLM), "b": (REQUEST, LLM),
            "c": ({**REQUEST, "llm_blind": True}, LLM), "d": (REQUEST, {})}
    pair = find_pair(runs)
    assert (pair.plain, pair.blind, pair.differing) == ("b", "c", ())
    assert find_pair({"a": ({**REQUEST, "seed": 9}, LLM),
                      "c": ({**REQUEST, "llm_blind": True}, LLM)}).differing == ("seed",)
    assert find_pair({"b": (REQUEST, LLM), "d": ({**REQUEST, "llm_blind": True}, {})}) is None


def test_the_difference_is_plain_minus_blind_with_units():
    plain = {"trades": 12, "net_pnl_cents": 5000, "llm_hit_rate": 0.8, "llm_brier": 0.05,
             "llm_scored_calls": 40}
    blind = {"trades": 15, "net_pnl_cents": -2500, "llm_hit_rate": 0.35, "llm_brier": 0.5,
             "llm_scored_calls": 40}
    frame = memorisation_frame(plain, blind, ("p", "b"))
    column = frame[DIFFERENCE]
    assert column["Trades"] == "-3" and column["Net P&L"] == "+$75.00"
    assert column["Hit rate"] == "+45.0 pp" and column["Brier score (lower is better)"] == (
        "-0.4500")
    assert column["Skill (0 to 1)"] == "–"  # not measured in either run
    assert frame.loc["Hit rate, 95% interval", "plain: p"].endswith("%")


def test_blind_prompts_are_refused_for_a_source_without_prompts():
    check_choice("compare plain / blind", "record")
    check_choice("as usual (plain)", "off")
    with pytest.raises(ValueError, match="only record and replay-cache"):
        check_choice("date-blind", "replay")

"""The Memory page shows the saved evaluation of memory: its plain verdict and evidence table."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.persistence import evaluation_store
from shared.persistence.db import open_database, write_transaction
from tests.pages import apptest


def evidence(verdict: str, net_on: float) -> dict:
    return {"off": {"trades": 100, "net_usd": -500.0}, "on": {"trades": 60, "net_usd": net_on},
            "placebo": {"runs": 20, "mean_net_usd": -450.0},
            "percentile": 97.5, "verdict": verdict,
            "bootstrap": {"per_trade_usd": {"estimate": 1.2, "low": 0.3, "high": 2.1},
                          "net_usd": {"estimate": 420.0, "low": 90.0, "high": 800.0}}}


def test_the_latest_memory_evaluation_is_shown_with_its_verdicts(app_env):
    whole = "helps: 98th percentile of placebo, +$1.20/trade [0.30, 2.10]"
    walk = "no evidence of value: 60th percentile of placebo, +$0.20/trade [-0.50, 0.90]"
    conn = open_database(app_env["db"])
    with write_transaction(conn):
        evaluation_store.insert_evaluation_run(
            conn, datetime(2026, 1, 5, 12, 0, tzinfo=UTC), "memory", "synthetic",
            "open_high_vol_longs", {"seeds": 20, "verdict": whole,
                                    "walk_forward_verdict": walk,
                                    "whole_run": evidence(whole, -80.0),
                                    "walk_forward": evidence(walk, -300.0)})
    conn.close()
    app = apptest.open_page("app_pages/memory.py")
    assert not app.exception
    assert any(f"Walk-forward: {walk}. Whole run: {whole}." in t.value for t in app.text)
    table = next(d.value for d in app.dataframe if "verdict" in d.value.columns)
    assert list(table["verdict"]) == [whole, walk]
    assert list(table["data"]) == ["synthetic + open_high_vol_longs"] * 2
    assert list(table["$/trade on-off [95% CI]"]) == ["+1.20 [0.30, 2.10]"] * 2


def test_without_an_evaluation_the_page_says_how_to_make_one(app_env):
    open_database(app_env["db"]).close()
    app = apptest.open_page("app_pages/memory.py")
    assert not app.exception
    assert any("python -m bot evaluate --layer memory" in i.value for i in app.info)


def test_the_llm_page_shows_the_llm_layer_evidence(app_env):
    verdict = "no evidence of value: 50th percentile of placebo, +$0.00/trade [-1.00, 1.00]"
    conn = open_database(app_env["db"])
    with write_transaction(conn):
        evaluation_store.insert_evaluation_run(
            conn, datetime(2026, 1, 5, 12, 0, tzinfo=UTC), "llm", "data/bars.csv", None,
            {"seeds": 20, "verdict": verdict, "walk_forward_verdict": verdict,
             "whole_run": evidence(verdict, -400.0), "walk_forward": evidence(verdict, -200.0)})
    conn.close()
    app = apptest.open_page("app_pages/llm.py")
    assert not app.exception
    assert any(verdict in t.value for t in app.text)

"""``python -m bot evaluate`` end to end in a real process on a small planted-edge market."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from shared.persistence import evaluation_store
from shared.persistence.db import connect

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]
VERDICTS = ("helps: ", "hurts: ", "no evidence of value: ")


def evaluate(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", "evaluate", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=240)


def test_memory_on_a_planted_edge_market_with_three_placebo_seeds(tmp_path):
    out, db = tmp_path / "memory.json", tmp_path / "trader.db"
    done = evaluate("--layer", "memory", "--data", "synthetic", "--bars", "12000",
                    "--planted-edge", "open_high_vol_longs", "--seeds", "3", "--resamples",
                    "500", "--workers", "2", "--json", str(out), "--save", "--db", str(db))
    assert done.returncode == 0, done.stderr
    document = json.loads(out.read_text())
    assert document["planted_edge"] == "open_high_vol_longs" and document["seeds"] == 3
    for form in ("whole_run", "walk_forward"):
        evidence = document[form]
        on, off, placebo = evidence["on"], evidence["off"], evidence["placebo"]
        assert on["refused"] > 0 and off["refused"] == 0  # memory refused; off is plain
        assert placebo["runs"] == 3 and len(placebo["net_usd"]) == 3
        assert placebo["refused"] == [on["refused"]] * 3  # the same number, at random
        assert evidence["percentile"] == pytest.approx(
            100 * (sum(n < on["net_usd"] for n in placebo["net_usd"])
                   + 0.5 * sum(n == on["net_usd"] for n in placebo["net_usd"])) / 3, abs=0.05)
        interval = evidence["bootstrap"]["net_usd"]
        assert interval["low"] <= interval["high"]
        assert interval["estimate"] == pytest.approx(on["net_usd"] - off["net_usd"], abs=0.02)
        assert evidence["verdict"].startswith(VERDICTS)
    assert f"memory: {document['verdict']}" in done.stdout
    conn = connect(db, readonly=True)
    try:
        (saved,) = evaluation_store.evaluation_runs(conn, "memory")
    finally:
        conn.close()
    assert saved.verdict == document["verdict"] and saved.planted_edge == "open_high_vol_longs"
    assert saved.result["whole_run"]["placebo"]["net_usd"] == (
        document["whole_run"]["placebo"]["net_usd"])


@pytest.mark.parametrize(("args", "message"), [
    (["--layer", "memory", "--data", "x.csv", "--planted-edge", "open_high_vol_longs"],
     "--planted-edge needs --data synthetic"),
    (["--layer", "memory", "--planted-edge", "free_money"], "--planted-edge 'free_money'"),
    (["--layer", "memory", "--seeds", "0"], "--seeds 0"),
    (["--layer", "rules"], "--layer rules needs --rules JOURNAL"),
    (["--layer", "news"], "--layer news needs --news FILE.csv"),
])
def test_bad_input_is_one_line_and_exit_2(args, message):
    done = evaluate(*args)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].startswith(f"error: {message}")

"""``python -m bot backtest`` as a real process: JSON output, persisted runs, clear refusals."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

import bot.__main__ as bot_main
from bot.backtest.cli import money_text, percent_text
from shared.config.backtest_request import BacktestRequest
from shared.persistence import backtest_store, ops_store
from shared.persistence.db import connect, open_database, write_transaction
from tests.bot.backtest.conftest import minute_bars
from tests.support import REPO_ROOT, migrated_journal

pytestmark = pytest.mark.integration  # runs `python -m bot backtest` processes

TRADE_KEYS = {"entry_time", "exit_time", "side", "entry_price", "exit_price", "contracts",
              "pnl_gross_cents", "pnl_net_cents", "pnl_gross_usd", "pnl_net_usd", "exit_reason"}


def backtest(*flags: str, timeout_s: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "backtest", *flags], cwd=REPO_ROOT, capture_output=True,
        text=True, timeout=timeout_s, check=False,
    )


def test_synthetic_run_writes_trades_and_metrics_json(tmp_path):
    out = tmp_path / "out.json"
    done = backtest("--data", "synthetic", "--bars", "6000", "--bar-size", "1min",
                    "--param", "risk.max_hold_minutes=15", "--commission", "1.5",
                    "--slippage", "0", "--json", str(out))
    assert done.returncode == 0, done.stderr
    document = json.loads(out.read_text())
    trades, metrics = document["trades"], document["metrics"]
    assert trades and set(trades[0]) >= TRADE_KEYS
    first = trades[0]
    assert datetime.fromisoformat(first["entry_time"]) <= datetime.fromisoformat(
        first["exit_time"])
    assert all(t["pnl_gross_cents"] - t["pnl_net_cents"] == 2 * 150 * t["contracts"]
               for t in trades)
    assert metrics["trades"] == len(trades)
    assert metrics["net_pnl_cents"] == sum(t["pnl_net_cents"] for t in trades)
    assert metrics["bars"] == 6000
    assert {"hour", "weekday", "exit_reason", "trend"} <= set(document["breakdowns"])
    assert "backtest progress" in done.stdout


def test_reference_strategy_params_are_applied(tmp_path):
    runs = {}
    for stop_atr in ("2", "4"):
        out = tmp_path / f"{stop_atr}.json"
        done = backtest("--bars", "4000", "--strategy", "rsi_macd_bracket", "--param",
                        f"stop_atr={stop_atr}", "--commission", "0", "--slippage", "0",
                        "--json", str(out))
        assert done.returncode == 0, done.stderr
        runs[stop_atr] = json.loads(out.read_text())["trades"]
    assert runs["2"] and runs["4"]
    wide = runs["4"][0]
    assert abs(wide["entry_price"] - wide["exit_price"]) > 0
    assert len(runs["4"]) < len(runs["2"])  # wider brackets, longer trades, fewer of them


def test_dotted_settings_apply_to_a_reference_strategy(tmp_path):
    out = tmp_path / "out.json"
    done = backtest("--bars", "3000", "--strategy", "sma_cross", "--param",
                    "risk.max_contracts=2", "--param", "instrument.symbol=ES", "--json", str(out))
    assert done.returncode == 0, done.stderr
    trades = json.loads(out.read_text())["trades"]
    assert trades and {t["contracts"] for t in trades} == {2}
    assert all(t["bracket_id"].startswith("ES-") and t["commission_cents"] == 2 * 2 * 225
               for t in trades)
    assert trades[-1]["exit_reason"] == "end_of_data"  # sma_cross is always in the market


def test_a_ruined_run_says_so_in_its_output_and_stored_metrics(tmp_path):
    db = tmp_path / "t.db"
    run_id = _queue(db, BacktestRequest(bars=20_000, strategy="sma_cross",
                                        params={"backtest.starting_equity_usd": "300"}))
    done = backtest("--run-id", str(run_id), "--db", str(db))
    assert done.returncode == 0, done.stderr
    assert "backtest stopped early: ruined at 2021-01-0" in done.stdout + done.stderr
    metrics = json.loads(_row(db, run_id)["metrics_json"])
    assert metrics["stopped_reason"].startswith("ruined at ")
    assert metrics["sharpe"] is not None and metrics["undefined"] == {}


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--strategy", "nope"], "unknown strategy 'nope'; known: breakout"),
        (["--param", "risk.nope=3"], "risk.nope"),
        (["--param", "risk.max_contracts=lots"], "risk.max_contracts"),
        (["--param", "novalue"], "expected KEY=VALUE"),
        (["--strategy", "sma_cross", "--param", "fast=50"], "fast must be below slow"),
        (["--strategy", "sma_cross", "--param", "risk.nope=1"],
         "--param risk.nope: no setting 'risk.nope'"),
        (["--strategy", "rsi_macd_bracket", "--param", "nope=1"], "nope: Extra inputs"),
        (["--bars", "0"], "bars"),
        (["--start", "2025-13-40"], "is not a date"),
        (["--start", "2025-03-05", "--end", "2025-03-04", "--data", "synthetic"],
         "empty date range"),
        (["--data", "/no/such/file.csv"], "does not exist"),
        (["--memory", "/no/such/journal.db"], "--memory /no/such/journal.db: no such file"),
    ],
)
def test_bad_input_exits_2_with_one_clear_line(flags, message, capsys, monkeypatch):
    """In process (``bot.__main__.main``, what ``python -m bot`` runs): the refusals are decided
    before anything starts, and the real process's exit 2 and one line are proven by
    test_a_bad_csv_is_refused_naming_the_problem and its neighbours."""
    monkeypatch.setattr(bot_main, "configure_logging", lambda: None)  # pytest captures logs
    try:
        code = bot_main.main(["backtest", "--bars", "300", *flags])
    except SystemExit as exc:  # argparse refuses a malformed flag by exiting
        code = exc.code
    out, err = capsys.readouterr()
    assert code == 2
    assert message in err and "Traceback" not in err + out
    assert len(err.strip().splitlines()) == 1, err


def test_a_refused_flag_exits_2_with_one_clear_line_as_a_real_process():
    done = backtest("--bars", "300", "--strategy", "nope")
    assert done.returncode == 2
    assert "unknown strategy 'nope'; known: breakout" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


def test_a_bad_csv_is_refused_naming_the_problem(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("when,price\n2025-01-01,abc\n", encoding="utf-8")
    done = backtest("--data", str(bad))
    assert done.returncode == 2
    assert "missing column(s)" in done.stderr and "Traceback" not in done.stderr


def test_an_empty_range_of_a_real_file_is_refused(shared_data):
    path = shared_data / "ES_1min_2025-08-31_2025-11-03_utc.csv"
    done = backtest("--data", str(path), "--start", "2030-01-01")
    assert done.returncode == 2
    assert "no bars in the requested date range; the data covers 2025-08-31" in done.stderr


def test_a_real_file_runs_on_its_dates_with_resampling(shared_data, tmp_path):
    out = tmp_path / "out.json"
    path = shared_data / "ES_1min_frd_sample_2023-03-08_2023-03-23_et.csv"
    done = backtest("--data", str(path), "--tz", "America/New_York", "--bar-size", "5min",
                    "--start", "2023-03-13", "--end", "2023-03-17", "--json", str(out))
    assert done.returncode == 0, done.stderr
    document = json.loads(out.read_text())
    assert document["metrics"]["bar_seconds"] == 300
    assert document["metrics"]["bars"] == pytest.approx(5 * 24 * 12, rel=0.1)
    for trade in document["trades"]:
        assert "2023-03-12" < trade["entry_time"][:10] <= "2023-03-17"


def _queue(db: Path, request: BacktestRequest) -> int:
    conn = open_database(db)
    with write_transaction(conn):
        run_id = backtest_store.insert_backtest_run(conn, request.to_json(), datetime.now(UTC))
    conn.close()
    return run_id


def _row(db: Path, run_id: int) -> dict:
    conn = connect(db, readonly=True)
    try:
        return backtest_store.backtest_run(conn, run_id) or {}
    finally:
        conn.close()


def test_a_persisted_run_reports_progress_then_its_results(tmp_path):
    db = tmp_path / "t.db"
    run_id = _queue(db, BacktestRequest(bars=150_000, params={"risk.max_hold_minutes": "15"}))
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "backtest", "--run-id", str(run_id), "--db", str(db)],
        cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    seen_running: set[float] = set()
    deadline = time.monotonic() + 120
    while process.poll() is None and time.monotonic() < deadline:
        row = _row(db, run_id)
        if row.get("status") == "running" and 0 < row["progress"] < 1:
            seen_running.add(row["progress"])
        time.sleep(0.02)
    assert process.wait(timeout=5) == 0, process.stderr.read() if process.stderr else ""
    assert seen_running, "no progress row was seen while the run was going"
    row = _row(db, run_id)
    assert row["status"] == "done" and row["progress"] == 1
    metrics = json.loads(row["metrics_json"])
    conn = connect(db, readonly=True)
    trades = backtest_store.backtest_trades(conn, run_id)
    equity = backtest_store.backtest_equity(conn, run_id)
    conn.close()
    assert metrics["trades"] == len(trades) == len(equity) > 0
    assert equity[-1][1] == metrics["ending_equity_cents"]
    candles = json.loads(row["chart_json"])
    assert 1000 <= len(candles["ts"]) <= 2000 and len(candles["open"]) == len(candles["ts"])


def test_a_persisted_run_with_a_bad_request_is_marked_failed(tmp_path):
    db = tmp_path / "t.db"
    run_id = _queue(db, BacktestRequest(data=str(tmp_path / "missing.csv")))
    done = backtest("--run-id", str(run_id), "--db", str(db))
    assert done.returncode == 2
    row = _row(db, run_id)
    assert row["status"] == "failed" and "does not exist" in row["message"]


def test_a_folder_of_parquet_days_like_the_ib_cache_runs(tmp_path):
    bars = minute_bars(3000)
    folder = tmp_path / "MES" / "1min"
    folder.mkdir(parents=True)
    frame = pd.DataFrame({"ts": pd.to_datetime([b.ts for b in bars], utc=True),
                          **{k: [getattr(b, k) for b in bars]
                             for k in ("open", "high", "low", "close", "volume")}})
    for day, part in frame.groupby(frame["ts"].dt.date):
        part.to_parquet(folder / f"{day.isoformat()}.parquet", index=False)
    frame.iloc[:0].to_parquet(folder / "2025-03-09.parquet", index=False)  # a closed day
    out = tmp_path / "out.json"
    done = backtest("--data", str(folder), "--json", str(out))
    assert done.returncode == 0, done.stderr
    assert json.loads(out.read_text())["metrics"]["bars"] == 3000


def test_memory_on_and_off_report_refusals_and_a_journal_seeds_it(tmp_path):
    documents = {}
    for mode in ("off", "on"):
        out = tmp_path / f"{mode}.json"
        done = backtest("--bars", "4000", "--bar-size", "1min", "--memory", mode,
                        "--param", "memory.cold_start_setups=5", "--json", str(out))
        assert done.returncode == 0, done.stderr
        documents[mode] = json.loads(out.read_text())["metrics"]
    assert documents["off"]["memory_enabled"] is False and documents["off"]["memory_refused"] == 0
    on = documents["on"]
    assert on["memory_enabled"] is True and on["memory_refused"] > 0
    assert on["trades"] < documents["off"]["trades"]
    # every trade and every refused entry followed to its exit joined memory
    assert on["memory_setups"] == on["trades"] + on["memory_refused_closed"]
    assert "memory:" in done.stdout and "would have made" in done.stdout
    empty = tmp_path / "empty.db"
    migrated_journal(empty)
    seeded = backtest("--bars", "2000", "--memory", str(empty))
    assert seeded.returncode == 0, seeded.stderr
    assert "memory seeded with 0 setups" in seeded.stdout


def _db_with_active_config(db: Path, yaml_text: str) -> int:
    conn = open_database(db)
    try:
        with write_transaction(conn):
            return ops_store.insert_config_version(conn, yaml_text, "test", "edited",
                                                   datetime.now(UTC))
    finally:
        conn.close()


def test_the_run_uses_the_active_config_version_by_default_and_says_so(tmp_path):
    db = tmp_path / "trader.db"
    version = _db_with_active_config(db, "instrument:\n  commission_per_side_usd: 5.0\n")
    runs = {}
    for name, flags in (("active", []), ("defaults", ["--config", "defaults"])):
        out = tmp_path / f"{name}.json"
        done = backtest("--bars", "3000", "--db", str(db), "--json", str(out), *flags)
        assert done.returncode == 0, done.stderr
        runs[name] = (done.stdout + done.stderr, json.loads(out.read_text())["trades"])
    said, trades = runs["active"]
    assert f"config: active config version {version} from {db}" in said
    assert trades and all(t["commission_cents"] == 2 * 500 * t["contracts"] for t in trades)
    said, trades = runs["defaults"]
    assert "config: built-in defaults (--config defaults)" in said
    assert trades and all(t["commission_cents"] != 2 * 500 * t["contracts"] for t in trades)


def test_without_a_database_the_run_says_it_uses_the_defaults(tmp_path):
    missing = tmp_path / "none.db"
    done = backtest("--bars", "2000", "--db", str(missing))
    assert done.returncode == 0, done.stderr
    assert f"config: built-in defaults (no database at {missing})" in done.stdout + done.stderr
    refused = backtest("--bars", "2000", "--db", str(missing), "--config", "active")
    assert refused.returncode == 2
    assert refused.stderr.strip() == (f"error: --config active: no database at {missing} (set "
                                      "--db or TRADER_DB)")


def test_the_summary_writes_money_and_percent_for_a_trader(tmp_path):
    done = backtest("--bars", "3000", "--config", "defaults")
    assert done.returncode == 0, done.stderr
    line = next(x for x in (done.stdout + done.stderr).splitlines() if "backtest done" in x)
    assert re.search(r"net -?\$[\d,]+\.\d\d, win rate \d+\.\d %", line), line
    assert "$-" not in line


@pytest.mark.parametrize(("cents", "text"), [(-212572, "-$2,125.72"), (0, "$0.00"),
                                             (123456789, "$1,234,567.89"), (-0.4, "$0.00")])
def test_money_text(cents, text):
    assert money_text(cents) == text


@pytest.mark.parametrize(("fraction", "text"), [(0.47651, "47.7 %"), (1.0, "100.0 %"),
                                                (None, "n/a"), (float("nan"), "n/a")])
def test_percent_text(fraction, text):
    assert percent_text(fraction) == text


def test_help_names_the_docs_exit_codes_section():
    done = subprocess.run([sys.executable, "-m", "bot", "backtest", "--help"], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=60, check=True)
    assert "docs/reference.md, section 'Exit codes'" in " ".join(done.stdout.split())
    reference = (REPO_ROOT / "docs" / "reference.md").read_text()
    assert "## Exit codes" in reference and "| `backtest` (its `--help` points here) | done |" \
        in reference


def test_a_dashboard_run_starts_from_the_active_config_version(tmp_path):
    """Issue 23: a run queued by the Backtest page (no config in its request) uses the config
    the trader edited, the database's active version, and says so, as the command line does."""
    db = tmp_path / "trader.db"
    version = _db_with_active_config(db, "instrument:\n  commission_per_side_usd: 5.0\n")
    run_id = _queue(db, BacktestRequest(bars=3000))
    done = backtest("--run-id", str(run_id), "--db", str(db))
    assert done.returncode == 0, done.stderr
    assert f"config active config version {version} from {db}" in done.stdout + done.stderr
    conn = connect(db, readonly=True)
    try:
        trades = backtest_store.backtest_trades(conn, run_id)
    finally:
        conn.close()
    assert trades and all(t.commission_cents == 2 * 500 * t.contracts for t in trades)

"""Backtest: request a run (data, dates, strategy, params, costs), watch it, compare results.

The page writes a request row and starts ``python -m bot backtest --run-id N``; progress and
results live in SQLite, so a reload mid-run picks the run up again.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import streamlit as st
from pydantic import ValidationError

from dashboard import backtest_charts, frame
from shared.config.backtest_request import (
    REFERENCE_STRATEGY_NAMES,
    BacktestRequest,
    launch_command,
)
from shared.config.settings import STRATEGY_NAMES, describe_validation_error
from shared.persistence import backtest_store
from shared.persistence.db import write_transaction

REPO_ROOT = Path(__file__).resolve().parents[1]
ENSEMBLE = "ensemble (default pipeline)"

st.title("Backtest")


def _saved_upload(upload) -> Path | None:
    """Keep an uploaded CSV under data/uploads (named by content); refuse non-text files."""
    content = upload.getvalue()
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        st.error(f"{upload.name}: not a UTF-8 text CSV file")
        return None
    if len([line for line in text.splitlines() if line.strip()]) < 2:
        st.error(f"{upload.name}: needs a header or data row and at least one more bar")
        return None
    folder = frame.db_path().parent / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{hashlib.sha256(content).hexdigest()[:16]}.csv"
    path.write_bytes(content)
    return path


def _params(text: str) -> dict[str, str] | None:
    params = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            st.error(f"Parameter line {line!r}: expected KEY=VALUE")
            return None
        params[key.strip()] = value.strip()
    return params


def _launch(request: BacktestRequest, name: str) -> None:
    with frame.writer() as conn, write_transaction(conn):
        run_id = backtest_store.insert_backtest_run(conn, request.to_json(), frame.utc_now(),
                                                    name)
    logs = frame.db_path().parent / "backtests"
    logs.mkdir(parents=True, exist_ok=True)
    with (logs / f"run-{run_id}.log").open("ab") as log:
        subprocess.Popen(launch_command(sys.executable, run_id, str(frame.db_path())),
                         cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT,
                         start_new_session=True)
    st.session_state["backtest_selected"] = run_id
    st.session_state.setdefault("bt_launched", []).append(run_id)
    st.success(f"Run {run_id} started")


with st.expander("New run", expanded=True), st.form("backtest_request"):
    source = st.radio("Data", ["Synthetic", "Upload CSV", "File on the server"],
                      horizontal=True, key="bt_source")
    left, middle, right = st.columns(3)
    bars = left.number_input("Synthetic bars", 1000, 5_000_000, 50_000, step=1000,
                             key="bt_bars")
    seed = middle.number_input("Synthetic seed", value=7, step=1)
    bar_size = right.selectbox("Bar size", ["file's own / 1min", "5s", "1min", "5min"])
    upload = st.file_uploader("CSV file (timestamp, open, high, low, close, volume)",
                              type=["csv", "txt"])
    server_path = st.text_input("Path of a CSV or Parquet file on the server", key="bt_path")
    left, middle, right = st.columns(3)
    zone = left.text_input("Timezone of naive timestamps", "UTC")
    start = middle.text_input("Start (YYYY-MM-DD, optional)", key="bt_start")
    end = right.text_input("End, inclusive (YYYY-MM-DD, optional)")
    strategy = st.selectbox("Strategy", [ENSEMBLE, *STRATEGY_NAMES, *REFERENCE_STRATEGY_NAMES],
                            key="bt_strategy")
    params_text = st.text_area("Parameters, KEY=VALUE per line (e.g. risk.max_hold_minutes=30)",
                               key="bt_params")
    left, middle, right = st.columns(3)
    commission = left.text_input("Commission $ per contract per side (blank = default)")
    slippage = middle.text_input("Slippage ticks (blank = default)")
    contracts = right.text_input("Contracts (blank = default)")
    news = st.text_input("Headlines CSV on the server (optional: time,headline[,source][,score])",
                         key="bt_news", help="Feeds the rolling sentiment, as live with news on")
    left, middle, right = st.columns(3)  # the LLM in the backtest (--llm, --llm-mode)
    llm_source = left.selectbox("LLM", list(backtest_charts.LLM_SOURCES), key="bt_llm",
                                help="replay: the replies the bot had, at the bars it had them; "
                                "record: paid calls at detector triggers, cached for replay")
    llm_modes = middle.selectbox("LLM mode", list(backtest_charts.LLM_MODE_CHOICES),
                                 key="bt_llm_mode", help="compare all four: one run per mode "
                                 "on the same data, side by side below")
    llm_calls = right.number_input("Record: max LLM calls", 0, 10_000, 20, key="bt_llm_calls")
    llm_spend = st.checkbox("Record: I accept the cost estimate of the paid LLM calls",
                            key="bt_llm_spend")
    name = st.text_input("Run name (optional)", key="bt_name")
    submitted = st.form_submit_button("Run backtest", type="primary")

if submitted:
    data = "synthetic"
    if source == "Upload CSV":
        saved = _saved_upload(upload) if upload is not None else None
        if upload is None:
            st.error("Choose a CSV file to upload")
        data = str(saved) if saved else ""
    elif source == "File on the server":
        data = server_path.strip()
        if not data:
            st.error("Enter the path of a bar file")
    params = _params(params_text)
    if data and params is not None:
        values = {
            "data": data, "bars": int(bars), "seed": int(seed),
            "bar_size": None if bar_size.startswith("file") else bar_size, "tz": zone.strip(),
            "start": start.strip() or None, "end": end.strip() or None,
            "strategy": None if strategy == ENSEMBLE else strategy, "params": params,
            "commission_usd": commission.strip() or None,
            "slippage_ticks": slippage.strip() or None, "contracts": contracts.strip() or None,
            "news": news.strip() or None,
            "llm": backtest_charts.LLM_SOURCES[llm_source], "llm_max_calls": int(llm_calls),
            "llm_yes_spend": bool(llm_spend),
        }
        modes = backtest_charts.LLM_MODE_CHOICES[llm_modes]
        try:
            requests = [BacktestRequest.model_validate({**values, "llm_mode": mode})
                        for mode in modes]
        except ValidationError as exc:
            st.error(f"Invalid request: {describe_validation_error(exc)}")
        else:
            st.session_state["bt_launched"] = []  # shown together once they are done
            for request, mode in zip(requests, modes, strict=True):
                suffix = f" · llm {mode}" if len(modes) > 1 else ""
                _launch(request, (name.strip() + suffix).strip())


@st.fragment(run_every=1)
def runs_panel() -> None:
    """Every run with its status; a live progress bar for the ones still going."""
    with frame.reader() as conn:
        runs = backtest_store.backtest_runs(conn) if conn is not None else []
    if not runs:
        st.info("No backtest runs yet.")
        return
    active = {run["id"] for run in runs if run["status"] in ("queued", "running")}
    finished_since = st.session_state.get("bt_active", set()) - active
    st.session_state["bt_active"] = active
    if finished_since:
        st.rerun()  # a run just ended: redraw the whole page so its results appear
    for run in runs:
        if run["status"] in ("queued", "running"):
            st.progress(float(run["progress"]),
                        text=f"Run {run['id']} {run['name']}: {run['status']}, {run['message']}")
        elif run["status"] == "failed":
            st.error(f"Run {run['id']} {run['name']} failed: {run['message']}")
    st.dataframe(runs, hide_index=True, column_order=(
        "id", "name", "status", "progress", "message", "created_at", "finished_at"))


st.subheader("Runs")
runs_panel()

with frame.reader() as conn:
    finished = [r for r in (backtest_store.backtest_runs(conn) if conn is not None else [])
                if r["status"] == "done"]
if not finished:
    st.stop()
labels = {f"#{r['id']} {r['name']}".strip(): r["id"] for r in finished}
launched = [label for label, run_id in labels.items()
            if run_id in st.session_state.get("bt_launched", [])]
chosen = st.multiselect("Results of (several to compare)", list(labels),
                        default=launched if len(launched) > 1 else list(labels)[:1])
if not chosen:
    st.stop()
with frame.reader() as conn:
    rows = {label: backtest_store.backtest_run(conn, labels[label]) or {} for label in chosen}
    first_id = labels[chosen[0]]
    trades = backtest_store.backtest_trades(conn, first_id)
    equity = backtest_store.backtest_equity(conn, first_id)
all_metrics = {label: json.loads(row.get("metrics_json") or "{}") for label, row in rows.items()}
if len(chosen) > 1:
    st.dataframe(backtest_charts.comparison_table(all_metrics))
if any(backtest_charts.has_llm(m) for m in all_metrics.values()):
    st.caption("The LLM in these runs: results, new calls and dollars, what it enabled and "
               "skipped")
    st.dataframe(backtest_charts.llm_comparison_frame(all_metrics), hide_index=True)
first = rows[chosen[0]]
metrics_of_first = all_metrics[chosen[0]]
cards = st.columns(6)
for index, (key, label, kind) in enumerate(backtest_charts.HEADLINE_METRICS):
    cards[index % 6].metric(label, backtest_charts.format_metric(metrics_of_first.get(key), kind))
if metrics_of_first.get("stopped_reason"):
    st.warning(f"Stopped early: {metrics_of_first['stopped_reason']}")
if metrics_of_first.get("undefined"):
    st.caption("n/a: " + "; ".join(f"{name.replace('_', ' ')} ({reason})"
                                   for name, reason in metrics_of_first["undefined"].items()))
if equity:
    st.plotly_chart(backtest_charts.equity_drawdown_figure(equity), key="bt_equity")
candles = json.loads(first.get("chart_json") or "{}")
if candles:
    st.plotly_chart(backtest_charts.trades_figure(candles, trades), key="bt_trades")
breakdowns = json.loads(first.get("breakdowns_json") or "{}")
for group in ("trend", "volatility", "time_bucket", "hour", "weekday", "exit_reason"):
    if breakdowns.get(group):
        st.caption(f"By {group.replace('_', ' ')}")
        st.dataframe(backtest_charts.breakdown_frame(breakdowns[group]), hide_index=True)
if st.button(f"Delete run {chosen[0]}", type="secondary"):
    with frame.writer() as conn, write_transaction(conn):
        backtest_store.delete_backtest_run(conn, first_id)
    st.rerun()

"""Backtest: request a run (data, dates, instrument, strategy, params, costs), watch, cancel,
delete, compare results.

The page writes a request row and starts ``python -m bot backtest --run-id N`` in its own
process group (``dashboard/backtest_jobs.py``); progress and results live in SQLite, so a
reload mid-run picks the run up again. Memory "compare" starts two runs on the same data,
memory off and on, shown side by side once they are done.
"""

from __future__ import annotations

import hashlib
import json
import re

import pandas as pd
import streamlit as st
from pydantic import ValidationError

from dashboard import (
    backtest_blind,
    backtest_charts,
    backtest_jobs,
    backtest_selection,
    charts,
    clicks,
    evaluation_views,
    frame,
    plain,
    reports,
    server_files,
    tables,
    zones,
)
from shared.config.backtest_request import (
    ACTIVE_STATUSES,
    REFERENCE_STRATEGY_NAMES,
    BacktestRequest,
)
from shared.config.settings import STRATEGY_NAMES, describe_validation_error
from shared.persistence import backtest_store
from shared.persistence.db import write_transaction

ENSEMBLE = "ensemble (default pipeline)"
SYNTHETIC, UPLOAD, SERVER_FILE = "Synthetic", "Upload CSV", "File on the server"
ENDED = ("failed", "cancelled", "lost")
INSTRUMENTS = {"MES": "MES ($5/pt)", "ES": "ES ($50/pt)"}
COMPARE = "compare off / on"
MEMORY_CHOICES = ("as configured", "off", "on", COMPARE)

st.title("Backtest")
zone = frame.display_zone()


def _saved_upload(upload) -> str | None:
    """Keep an uploaded CSV under data/uploads (named by content); refuse non-text files."""
    content = upload.getvalue()
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        st.error(f"{plain.escape(upload.name)}: not a UTF-8 text CSV file")
        return None
    if len([line for line in text.splitlines() if line.strip()]) < 2:
        st.error(f"{plain.escape(upload.name)}: needs a header or data row and at least one "
                 "more bar")
        return None
    folder = frame.db_path().parent / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{hashlib.sha256(content).hexdigest()[:16]}.csv"
    path.write_bytes(content)
    return str(path)


def _params(text: str) -> dict[str, str] | None:
    params = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            st.error(f"Parameter line {plain.escape(repr(line))}: expected KEY=VALUE")
            return None
        params[key.strip()] = value.strip()
    return params


def _launch(request: BacktestRequest, name: str) -> None:
    with frame.writer() as conn:
        with write_transaction(conn):
            run_id = backtest_store.insert_backtest_run(conn, request.to_json(),
                                                        frame.utc_now(), name)
        backtest_jobs.launch(conn, run_id, frame.db_path())
    st.session_state["backtest_selected"] = run_id
    st.session_state.setdefault("bt_launched", []).append(run_id)
    st.success(f"Run {run_id} started")


def _memory_runs(choice: str, seeded: bool) -> list[tuple[str | None, str]]:
    """(``--memory`` value, run-name suffix) of each run a memory choice starts; "on" with
    ``seeded`` starts from the bot's journal (setups closed before the first bar)."""
    on = str(frame.db_path()) if seeded else "on"
    if choice == COMPARE:
        return [("off", " · memory off"), (on, " · memory on")]
    return [({"off": "off", "on": on}.get(choice), "")]


# The source is chosen outside the form so the form shows only that source's fields.
source = st.radio("Data", [SYNTHETIC, UPLOAD, SERVER_FILE], horizontal=True, key="bt_source")
with st.expander("New run", expanded=True), st.form("backtest_request"):
    upload, server_path, zone_text, bars, seed = None, "", "UTC", 50_000, 7
    left, middle, right = st.columns(3)
    if source == SYNTHETIC:
        bars = left.number_input("Synthetic bars", 1000, 5_000_000, 50_000, step=1000,
                                 key="bt_bars")
        seed = middle.number_input("Synthetic seed", value=7, step=1)
        bar_size = right.selectbox("Bar size", ["1min", "5s", "5min"])
    else:
        if source == UPLOAD:
            upload = st.file_uploader("CSV file (timestamp, open, high, low, close, volume)",
                                      type=["csv", "txt"])
        else:
            server_path = st.text_input("Path of a CSV or Parquet file on the server",
                                        key="bt_path")
        zone_text = left.text_input("Timezone of naive timestamps", "UTC")
        bar_size = middle.selectbox("Bar size", ["file's own", "5s", "1min", "5min"])
    instrument = right.selectbox("Instrument traded", list(INSTRUMENTS),
                                 format_func=INSTRUMENTS.get, key="bt_instrument",
                                 help="MES: Micro E-mini, $5 a point; ES: E-mini, $50 a point. "
                                      "ES prices trade as either; P&L uses this contract's "
                                      "point value and commission")
    left, right = st.columns(2)
    start = left.text_input("Start (YYYY-MM-DD, optional)", key="bt_start")
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
    left, right = st.columns([3, 2])
    llm_spend = left.checkbox("Record: I accept the cost estimate of the paid LLM calls",
                              key="bt_llm_spend")
    llm_blind = right.selectbox("Prompts (record, replay-cache)",
                                list(backtest_blind.BLIND_CHOICES), key="bt_llm_blind",
                                help="date-blind: no date, prices as an index, no headline "
                                "text; compare: one run of each on the same data, and the "
                                "measured memorisation (plain − blind) below")
    left, right = st.columns([3, 2])
    memory_choice = left.radio("Memory of past setups", MEMORY_CHOICES, horizontal=True,
                               key="bt_memory")
    seeded = right.checkbox("With memory on: start it from the bot's journal (setups closed "
                            "before the first bar)", key="bt_memory_seeded")
    name = st.text_input("Run name (optional)", key="bt_name")
    st.form_submit_button("Run backtest", type="primary", on_click=clicks.arm,
                          args=("bt_run",))

if clicks.fired("bt_run"):
    folders = frame.current_settings()[0].backtest.data_folders
    data, label = "synthetic", None
    if source == UPLOAD:
        if upload is None:
            st.error("Choose a CSV file to upload")
        data, label = (_saved_upload(upload) or "", upload.name) if upload else ("", None)
    elif source == SERVER_FILE:
        data = server_files.page_path(server_path, folders, frame.db_path(), "bar file",
                                      folder_ok=True) or ""
    news_path = news.strip() and server_files.page_path(news, folders, frame.db_path(),
                                                        "headlines file")
    params = _params(params_text)
    if data and params is not None and news_path is not None:
        params.setdefault("instrument.symbol", instrument)
        values = {
            "data": data, "data_label": label, "bars": int(bars), "seed": int(seed),
            "bar_size": None if bar_size.startswith("file") else bar_size,
            "tz": zone_text.strip(), "start": start.strip() or None, "end": end.strip() or None,
            "strategy": None if strategy == ENSEMBLE else strategy, "params": params,
            "commission_usd": commission.strip() or None,
            "slippage_ticks": slippage.strip() or None, "contracts": contracts.strip() or None,
            "news": news_path or None,
            "llm": backtest_charts.LLM_SOURCES[llm_source], "llm_max_calls": int(llm_calls),
            "llm_yes_spend": bool(llm_spend),
        }
        modes = backtest_charts.LLM_MODE_CHOICES[llm_modes]
        blinds = backtest_blind.BLIND_CHOICES[llm_blind]
        runs = [(mode, memory, memory_suffix, blind) for mode in modes
                for memory, memory_suffix in _memory_runs(memory_choice, seeded)
                for blind in blinds]
        try:
            backtest_blind.check_choice(llm_blind, values["llm"])
            requests = [BacktestRequest.model_validate({**values, "llm_mode": mode,
                                                        "memory": memory, "llm_blind": blind})
                        for mode, memory, _, blind in runs]
        except ValidationError as exc:  # (a ValueError too: caught first)
            st.error(f"Invalid request: {plain.escape(describe_validation_error(exc))}")
        except ValueError as exc:
            st.error(plain.escape(str(exc)))
        else:
            st.session_state["bt_launched"] = []  # shown together once they are done
            for request, (mode, _, memory_suffix, blind) in zip(requests, runs, strict=True):
                suffix = ((f" · llm {mode}" if len(modes) > 1 else "") + memory_suffix
                          + (f" · {'blind' if blind else 'plain'}" if len(blinds) > 1 else ""))
                _launch(request, (name.strip() + suffix).strip())


def _act(action, run: dict) -> None:
    with frame.writer() as conn:
        st.session_state["bt_notice"] = action(conn, run)


def _run_title(run: dict) -> str:
    return f"Run {run['id']}" + (f" {run['name']}" if run["name"] else "")


def _short(message: str) -> str:
    return message if len(message) <= 160 else message[:157] + "…"


def runs_panel() -> None:
    """Every run: live ones with progress and Cancel, ended ones with why and Delete."""
    now = frame.utc_now()
    with frame.reader() as conn:
        runs = backtest_store.backtest_runs(conn) if conn is not None else []
    if any(r["status"] in ACTIVE_STATUSES for r in runs):
        with frame.writer() as conn:
            if backtest_jobs.mark_lost_runs(conn, runs, now):
                runs = backtest_store.backtest_runs(conn)
    if st.session_state.get("bt_notice"):
        st.toast(plain.escape(st.session_state.pop("bt_notice")))
    if not runs:
        st.info("No backtest runs yet.")
        return
    active = {run["id"] for run in runs if run["status"] in ACTIVE_STATUSES}
    finished_since = st.session_state.get("bt_active", set()) - active
    st.session_state["bt_active"] = active
    if finished_since:
        st.rerun()  # a run just ended: redraw the whole page so its results appear
    for run in runs:
        if run["status"] not in (*ACTIVE_STATUSES, *ENDED):
            continue
        text, button = st.columns([6, 1], vertical_alignment="center")
        if run["status"] in ACTIVE_STATUSES:
            asked = " (cancel requested)" if run["cancel_requested_at"] else ""
            text.progress(float(run["progress"]), text=plain.escape(
                f"{_run_title(run)}: {run['status']}{asked}, {run['message']}"))
            if button.button("Cancel", key=f"cancel-{run['id']}",
                             disabled=bool(run["cancel_requested_at"])):
                _act(lambda c, r=run: backtest_jobs.cancel(c, r, frame.utc_now()), run)
                st.rerun(scope="fragment")
        else:
            shown = text.error if run["status"] == "failed" else text.warning
            shown(plain.escape(f"{_run_title(run)} {run['status']}: {_short(run['message'])}"))
            if button.button("Delete", key=f"delete-{run['id']}"):
                _act(lambda c, r=run: backtest_jobs.delete(c, r, frame.utc_now(),
                                                           frame.db_path()), run)
                st.rerun(scope="fragment")
    shown_runs = [{k: r[k] for k in ("id", "name", "status", "progress", "message",
                                     "created_at", "finished_at")} for r in runs]
    st.dataframe(zones.in_zone(pd.DataFrame(shown_runs), zone, ("created_at", "finished_at")),
                 hide_index=True, column_config=tables.RUNS)


st.subheader("Runs")
st.caption(f"Times in {zones.zone_label(zone)}")
with frame.reader() as conn:
    any_active = conn is not None and any(
        r["status"] in ACTIVE_STATUSES for r in backtest_store.backtest_runs(conn))
# Poll every second only while a run is queued or running (a run ending reruns the page).
st.fragment(runs_panel, run_every=1 if any_active else None)()

with frame.reader() as conn:
    finished = [r for r in (backtest_store.backtest_runs(conn) if conn is not None else [])
                if r["status"] == "done"]
if not finished:
    st.stop()
labels = {f"#{r['id']} {r['name']}".strip(): r["id"] for r in finished}
names = {run_id: label for label, run_id in labels.items()}
wanted = [names[i] for i in backtest_selection.default_selection(
    finished, st.session_state.get("bt_launched", []))]
if st.session_state.get("bt_results_default") != wanted:  # a run (of a batch) just finished
    st.session_state["bt_results_default"] = wanted
    st.session_state["bt_results"] = wanted
st.session_state["bt_results"] = [label for label in st.session_state.get("bt_results", [])
                                  if label in labels]
chosen = st.multiselect("Results of (several to compare)", list(labels), key="bt_results")
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
    pair = backtest_blind.pair_among(rows, all_metrics)
    if pair is not None and backtest_blind.pair_note(pair):
        st.warning(plain.escape(backtest_blind.pair_note(pair)))
    elif pair is not None:
        st.caption("Blind vs plain on the same bars: a model that remembers the days does "
                   "better plain (higher hit rate, lower Brier score, more P&L); differences "
                   "inside the hit rates' intervals are noise")
        st.dataframe(backtest_blind.memorisation_frame(
            all_metrics[pair.plain], all_metrics[pair.blind], (pair.plain, pair.blind)),
            key="bt_memorisation")
if any(m.get("memory_enabled") for m in all_metrics.values()):
    st.caption("Memory of past setups (refused entries are followed one at a time to where "
               "their bracket would have exited)")
    st.dataframe(backtest_charts.memory_comparison_table(all_metrics), key="bt_memory_table")
    with frame.reader() as conn:
        memory_runs = evaluation_views.layer_runs(conn, "memory") if conn is not None else []
    st.caption(evaluation_views.comparison_note("memory", memory_runs))
first = rows[chosen[0]]
request = json.loads(first.get("request_json") or "{}")
symbol = (request.get("params") or {}).get("instrument.symbol", "MES")
st.caption(plain.escape(f"{chosen[0]}: {symbol}, data "
                        f"{request.get('data_label') or request.get('data')}"))
metrics_of_first = all_metrics[chosen[0]]
CARDS_PER_ROW = 4
cards = backtest_charts.HEADLINE_METRICS
for row_start in range(0, len(cards), CARDS_PER_ROW):
    for column, (key, label, kind) in zip(st.columns(CARDS_PER_ROW),
                                          cards[row_start:row_start + CARDS_PER_ROW],
                                          strict=False):
        column.metric(label, backtest_charts.format_metric(metrics_of_first.get(key), kind))
if metrics_of_first.get("bars_per_second") is not None:  # how fast, not how well: a detail
    st.caption(f"Replayed {metrics_of_first.get('bars', 0):,} bars at "
               f"{metrics_of_first['bars_per_second']:,.0f} bars/s")
if metrics_of_first.get("stopped_reason"):
    st.warning(f"Stopped early: {plain.escape(metrics_of_first['stopped_reason'])}")
if metrics_of_first.get("undefined"):
    st.caption(plain.escape("n/a: " + "; ".join(
        f"{name.replace('_', ' ')} ({reason})"
        for name, reason in metrics_of_first["undefined"].items())))
if equity:
    st.plotly_chart(backtest_charts.equity_drawdown_figure(equity, zone), key="bt_equity")
candles = json.loads(first.get("chart_json") or "{}")
if candles:
    st.plotly_chart(backtest_charts.trades_figure(candles, trades, zone), key="bt_trades")
breakdowns = json.loads(first.get("breakdowns_json") or "{}")
if trades:
    st.plotly_chart(charts.pnl_bar_chart(
        reports.pnl_by_hour(reports.trades_table(trades), zone),
        f"P&L by entry hour ({zones.short_name(zone)})"), key="bt_hour")
for group in ("trend", "volatility", "time_bucket", "weekday", "exit_reason"):
    if breakdowns.get(group):
        st.caption(f"By {group.replace('_', ' ')}")
        st.dataframe(backtest_charts.breakdown_frame(breakdowns[group], group),
                     hide_index=True)
if st.button(f"Delete run {re.sub(r'^#', '', chosen[0])}", type="secondary"):
    with frame.writer() as conn:
        backtest_jobs.delete(conn, first, frame.utc_now(), frame.db_path())
    st.rerun()

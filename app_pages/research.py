"""Research: launch a sweep, walk-forward or Monte Carlo run (local workers or a Dask cluster),
watch it, read its results, and apply a chosen parameter set to the config as a new version.

The page writes a request row and starts ``python -m bot research --run-id N``; progress and
results live in SQLite, so a reload mid-run picks the run up again. Cancel raises the row's
flag, which the run honours between tasks.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import streamlit as st
from pydantic import ValidationError

from dashboard import (
    clicks,
    config_editor,
    fmt,
    frame,
    plain,
    research_views,
    server_files,
    tables,
    zones,
)
from shared.config.backtest_request import REFERENCE_STRATEGY_NAMES
from shared.config.research_request import (
    MC_METHODS,
    OBJECTIVES,
    ResearchRequest,
    research_command,
)
from shared.config.settings import STRATEGY_NAMES, describe_validation_error, settings_to_yaml
from shared.persistence import research_liveness, research_store
from shared.persistence.db import write_transaction

REPO_ROOT = Path(__file__).resolve().parents[1]
ENSEMBLE = "ensemble (default pipeline)"
KINDS = {"Sweep": "sweep", "Walk-forward": "walk_forward", "Monte Carlo": "monte_carlo"}

st.title("Research")


def _lines(text: str, label: str) -> dict[str, str] | None:
    """KEY=VALUE lines (grid values: V1,V2,...)."""
    found = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            st.error(f"{label} line {plain.escape(repr(line))}: expected KEY=VALUE")
            return None
        found[key.strip()] = value.strip()
    return found


def _launch(request: ResearchRequest, name: str) -> None:
    with frame.writer() as conn, write_transaction(conn):
        run_id = research_store.insert_research_run(conn, request.kind.value,
                                                    request.to_json(), frame.utc_now(), name)
    logs = frame.db_path().parent / "research"
    logs.mkdir(parents=True, exist_ok=True)
    with (logs / f"run-{run_id}.log").open("ab") as log:
        subprocess.Popen(research_command(sys.executable, run_id, str(frame.db_path())),
                         cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT,
                         start_new_session=True)
    st.session_state["research_selected"] = run_id
    st.success(f"Research run {run_id} started")


with frame.reader() as conn:
    has_runs = bool(conn is not None and research_store.research_runs(conn, limit=1))
# The tool is chosen outside the form so the form shows only that tool's fields.
kind = st.radio("Tool", list(KINDS), horizontal=True, key="rs_kind")
tool = KINDS[kind]
# what a hidden field sends (the same defaults as the fields)
objective, drawdown_weight, workers, search, trials, cluster = OBJECTIVES[0], 1.0, 2, "grid", 50, ""
train_bars, test_bars, anchored = 5000, 2000, False
method, block_length, runs, seed, starting, ruin = "block", 5, 1000, 7, "", 0.0
grid_text = ""
with st.expander("New run", expanded=not has_runs), st.form("research_request"):
    left, middle, right = st.columns(3)
    data = left.text_input("Data: synthetic, or a CSV/Parquet path on the server", "synthetic",
                           key="rs_data")
    bars = middle.number_input("Synthetic bars", 1000, 5_000_000, 20_000, step=1000,
                               key="rs_bars")
    zone = right.text_input("Timezone of naive timestamps", "UTC", key="rs_tz")
    strategy = st.selectbox("Strategy", [ENSEMBLE, *STRATEGY_NAMES, *REFERENCE_STRATEGY_NAMES],
                            key="rs_strategy")
    params_text = st.text_area("Fixed parameters, KEY=VALUE per line", key="rs_params")
    if tool != "monte_carlo":
        grid_text = st.text_area("Grid, KEY=V1,V2,... per line (sweep, walk-forward)",
                                 key="rs_grid")
        left, middle, right = st.columns(3)
        objective = left.selectbox("Objective", OBJECTIVES, key="rs_objective")
        drawdown_weight = middle.number_input("Drawdown weight", 0.0, 100.0, 1.0, key="rs_ddw")
        workers = right.number_input("Local workers", 1, 64, 2, key="rs_workers")
        left, right = st.columns([1, 2])
        if tool == "sweep":
            search = left.selectbox("Sweep search", ["grid", "tpe"], key="rs_search",
                                    help="grid: every point; tpe: Optuna TPE trials (seeded)")
            trials = left.number_input("TPE trials", 1, 100_000, 50, key="rs_trials")
        cluster = right.text_input("Dask scheduler (blank: this machine), e.g. "
                                   "tcp://10.0.0.5:8786", key="rs_cluster")
    if tool == "walk_forward":
        left, middle, right = st.columns(3)
        train_bars = left.number_input("Walk-forward: in-sample bars", 0, 10_000_000, 5000,
                                       key="rs_train")
        test_bars = middle.number_input("Walk-forward: out-of-sample bars", 0, 10_000_000,
                                        2000, key="rs_test")
        anchored = right.checkbox("Anchored windows", key="rs_anchored",
                                  help="The in-sample window grows from the first bar "
                                  "instead of rolling forward")
    if tool == "monte_carlo":
        left, middle, right = st.columns(3)
        method = left.selectbox("Monte Carlo method", MC_METHODS,
                                index=MC_METHODS.index("block"), key="rs_method")
        block_length = middle.number_input("Block length (trades)", 1, 10_000, 5,
                                           key="rs_block")
        runs = right.number_input("Simulations", 1, 1_000_000, 1000, key="rs_runs")
        left, middle, right = st.columns(3)
        starting = middle.text_input("Starting equity $ (blank: the config's)",
                                     key="rs_start_eq")
        ruin = right.number_input("Ruin at equity $", 0.0, 1e9, 0.0, key="rs_ruin")
    if tool in ("sweep", "monte_carlo"):
        seed = st.number_input("Seed (Monte Carlo, TPE)", value=7, step=1, key="rs_seed")
    name = st.text_input("Run name (optional)", key="rs_name")
    st.form_submit_button("Start research run", type="primary", on_click=clicks.arm,
                          args=("rs_start",))

if clicks.fired("rs_start"):
    params, grid = _lines(params_text, "Parameter"), _lines(grid_text, "Grid")
    data_path = "synthetic" if data.strip().lower() in ("", "synthetic") else (
        server_files.page_path(data, frame.current_settings()[0].backtest.data_folders,
                               frame.db_path(), "bar file", folder_ok=True))
    if params is not None and grid is not None and data_path is not None:
        values = {
            "kind": KINDS[kind],
            "backtest": {"data": data_path, "bars": int(bars),
                         "tz": zone.strip() or "UTC",
                         "strategy": None if strategy == ENSEMBLE else strategy,
                         "params": params},
            "grid": {key: [v.strip() for v in value.split(",")] for key, value in grid.items()},
            "objective": objective, "drawdown_weight": float(drawdown_weight),
            "workers": int(workers), "cluster": cluster.strip() or None,
            "search": search, "trials": int(trials),
            "train_bars": int(train_bars), "test_bars": int(test_bars), "anchored": anchored,
            "method": method, "block_length": int(block_length), "runs": int(runs),
            "seed": int(seed), "starting_equity_usd": starting.strip() or None,
            "ruin_equity_usd": float(ruin),
        }
        try:
            request = ResearchRequest.model_validate(values)
        except ValidationError as exc:
            st.error(f"Invalid request: {plain.escape(describe_validation_error(exc))}")
        else:
            _launch(request, name.strip())


@st.fragment(run_every=1)
def runs_panel() -> None:
    """Every run with its status; live progress and a cancel button for the active ones."""
    with frame.reader() as conn:
        runs = research_store.research_runs(conn) if conn is not None else []
    if lost := research_liveness.lost_runs(runs):  # killed: fail them, never "running" forever
        with frame.writer() as conn, write_transaction(conn):
            research_liveness.fail_lost_runs(conn, lost, frame.utc_now())
            runs = research_store.research_runs(conn)
    if not runs:
        st.info("No research runs yet.")
        return
    active = {run.id for run in runs if run.active}
    finished_since = st.session_state.get("rs_active", set()) - active
    st.session_state["rs_active"] = active
    if finished_since:
        st.rerun()  # a run just ended: redraw the whole page so its results appear
    for run in runs:
        if run.active:
            left, right = st.columns([5, 1])
            left.progress(run.progress, text=plain.escape(
                f"Research run {run.id} {run.name}: {run.status}, {run.message}"
                + (" (cancelling)" if run.cancel_requested else "")))
            if right.button("Cancel", key=f"rs_cancel_{run.id}"):
                with frame.writer() as conn, write_transaction(conn):
                    research_store.request_research_cancel(conn, run.id)
        elif run.status == "failed":
            st.error(plain.escape(f"Research run {run.id} {run.name} failed: {run.message}"))
    zone = frame.display_zone()
    st.dataframe(zones.in_zone(research_views.runs_frame(runs), zone), hide_index=True,
                 column_config=tables.RUNS, column_order=tables.RUN_ORDER)
    st.caption(f"Times in {zones.zone_label(zone)}")


st.subheader("Runs")
runs_panel()

with frame.reader() as conn:
    finished = [r for r in (research_store.research_runs(conn) if conn is not None else [])
                if r.status == "done"]
if not finished:
    st.stop()
labels = {f"#{r.id} {r.kind} {r.name}".strip(): r.id for r in finished}
chosen = st.selectbox("Results of", list(labels), key="rs_result")
with frame.reader() as conn:
    run = research_store.research_run(conn, labels[chosen])
if run is None or run.result is None:
    st.stop()
document = run.result
request = ResearchRequest.from_json(run.request_json)

if document["kind"] == "sweep":
    keys = sorted(document["grid"])
    if len(keys) >= 2:
        left, right = st.columns(2)
        x_key = left.selectbox("Heatmap x", keys, index=0, key="rs_x")
        y_key = right.selectbox("Heatmap y", [k for k in keys if k != x_key], key="rs_y")
        st.plotly_chart(research_views.heatmap_figure(document, x_key, y_key), key="rs_heat")
    st.dataframe(research_views.points_frame(document), hide_index=True,
                 column_config=tables.SWEEP_POINTS)
    points = {", ".join(f"{k}={v}" for k, v in p["params"].items()): p["params"]
              for p in research_views.best_first(document["points"])}
    st.subheader("Apply a parameter set to the config")
    picked = st.selectbox("Parameter set (best first)", list(points), key="rs_point")
    running, _ = frame.current_settings()
    candidate, errors, skipped = research_views.config_with_params(
        running, points[picked], request.backtest.strategy)
    if skipped:
        st.warning(f"Not config settings (the {request.backtest.strategy} reference strategy's "
                   f"own): {plain.escape(', '.join(skipped))}")
    for error in errors:
        st.error(plain.escape(f"{error.location}: {error.message}"))
    if candidate is not None and not errors:
        with frame.reader() as conn:
            _, active_text = (config_editor.active_yaml(conn, running) if conn is not None
                              else (None, settings_to_yaml(running)))
        diff = config_editor.yaml_diff(active_text, settings_to_yaml(candidate), "active",
                                       "with this parameter set")
        if not diff:
            st.info("The active config already has these values.")
        else:
            st.code(diff, language="diff")
            if st.button("Save as new config version", type="primary", key="rs_apply"):
                with frame.writer() as conn:
                    version = config_editor.save_config(
                        conn, frame.config_path(), candidate, "research page",
                        f"research run {run.summary.id}: {picked}", frame.utc_now())
                st.success(f"Saved config version {version}.")
elif document["kind"] == "walk_forward":
    st.dataframe(research_views.windows_frame(document), hide_index=True)
    if document["equity"]:
        st.plotly_chart(research_views.stitched_equity_figure(document), key="rs_wf_equity")
    st.caption("Parameter stability across windows")
    st.dataframe(research_views.stability_frame(document), hide_index=True)
else:
    cards = st.columns(3)
    cards[0].metric("Probability of ruin", f"{document['probability_of_ruin']:.1%}")
    cards[1].metric("Median final P&L",
                    fmt.usd(document['percentiles']['final_pnl_cents']['50']))
    cards[2].metric("Simulations", f"{document['runs']:,} ({document['method']})")
    st.plotly_chart(research_views.fan_figure(document), key="rs_fan")
    st.dataframe(research_views.percentiles_frame(document), hide_index=True)

if st.button(f"Delete run {run.summary.id}", key="rs_delete"):
    with frame.writer() as conn, write_transaction(conn):
        research_store.delete_research_run(conn, run.summary.id)
    st.rerun()

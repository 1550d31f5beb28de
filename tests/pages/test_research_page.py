"""The Research page with AppTest: launch a real sweep, see progress and the heatmap, apply a
point as a config version; a walk-forward and a Monte Carlo run show their tables and charts."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from shared.persistence import ops_store, research_store
from shared.persistence.db import connect, open_database
from tests.pages import apptest
from tests.pages.conftest import shown, wire_dashboard
from tests.support import wait_for

PAGE = "app_pages/research.py"


@pytest.fixture
def research_env(tmp_path, monkeypatch) -> dict[str, Path]:
    db, config = tmp_path / "trader.db", tmp_path / "config.yaml"
    open_database(db).close()
    config.write_text("risk:\n  max_hold_minutes: 60\n", encoding="utf-8")
    return wire_dashboard(monkeypatch, db, config)


def open_page() -> AppTest:
    return apptest.open_page(PAGE)


def latest(db: Path) -> research_store.ResearchRunSummary | None:
    conn = connect(db, readonly=True)
    try:
        runs = research_store.research_runs(conn)
        return runs[0] if runs else None
    finally:
        conn.close()


def wait_done(db: Path, timeout_s: float = 180) -> research_store.ResearchRunSummary:
    def finished() -> research_store.ResearchRunSummary | None:
        run = latest(db)
        if run is not None and run.status == "failed":
            raise AssertionError(f"run failed: {run.message}")
        return run if run is not None and run.status == "done" else None
    return wait_for(finished, timeout_s, "the research run to finish")


def submit(app: AppTest, **fields) -> AppTest:
    if "rs_kind" in fields:  # outside the form: the form then shows that tool's fields
        app = app.radio(key="rs_kind").set_value(fields.pop("rs_kind")).run()
    for key, value in fields.items():
        if key in ("rs_strategy", "rs_method", "rs_objective"):
            app.selectbox(key=key).set_value(value)
        elif key in ("rs_bars", "rs_train", "rs_test", "rs_runs", "rs_workers"):
            app.number_input(key=key).set_value(value)
        elif key in ("rs_grid", "rs_params"):
            app.text_area(key=key).set_value(value)
        else:
            app.text_input(key=key).set_value(value)
    return app.button[0].click().run()


def test_a_sweep_shows_a_heatmap_and_a_point_becomes_a_config_version(research_env):
    app = submit(open_page(), rs_bars=6000, rs_strategy="breakout", rs_name="page sweep",
                 rs_grid="risk.max_hold_minutes=20,40\nrisk.atr_stop_multiplier=1.5,2.5")
    assert not app.exception, app.exception
    assert wait_done(research_env["db"]).name == "page sweep"
    app = open_page()
    assert len(app.get("plotly_chart")) == 1  # the heatmap over the two grid keys
    assert app.selectbox(key="rs_x").value == "risk.atr_stop_multiplier"  # grid keys sorted
    best = app.selectbox(key="rs_point").value
    assert any("max_hold_minutes" in block.value for block in app.code)  # the diff
    app.button(key="rs_apply").click().run()
    assert not app.exception, app.exception
    assert any("Saved config version" in s.value for s in app.success)
    conn = connect(research_env["db"], readonly=True)
    active = ops_store.active_config_version(conn)
    conn.close()
    hold = best.split("risk.max_hold_minutes=")[1].split(",")[0]
    assert f"max_hold_minutes: {hold}" in active.yaml
    assert f"max_hold_minutes: {hold}" in research_env["config"].read_text()
    app.button(key="rs_delete").click().run()
    assert latest(research_env["db"]) is None


def test_walk_forward_and_monte_carlo_runs_show_their_results(research_env):
    submit(open_page(), rs_kind="Walk-forward", rs_bars=6000, rs_strategy="rsi_macd_bracket",
           rs_grid="stop_atr=1.5,3", rs_train=2000, rs_test=1000)
    wait_done(research_env["db"])
    app = open_page()
    assert len(app.get("plotly_chart")) == 1  # stitched equity
    assert len(app.dataframe) >= 3  # runs, windows, stability
    submit(app, rs_kind="Monte Carlo", rs_bars=6000, rs_strategy="rsi_macd_bracket",
           rs_runs=500)  # no grid field: a Monte Carlo run has none
    wait_done(research_env["db"])
    app = open_page()
    labels = {m.label for m in app.metric}
    assert "Probability of ruin" in labels
    assert len(app.get("plotly_chart")) == 1  # the fan chart


def test_a_bad_grid_is_refused_on_the_page(research_env):
    app = submit(open_page(), rs_grid="risk.nope=1,2")
    assert any("risk.nope" in shown(e.value) for e in app.error)
    assert latest(research_env["db"]) is None


def test_progress_survives_a_reload_and_the_cancel_button_stops_the_run(research_env):
    grid = "risk.max_hold_minutes=" + ",".join(str(m) for m in range(10, 90, 5))
    submit(open_page(), rs_bars=60000, rs_grid=grid, rs_name="slow")
    def progress_shown() -> AppTest | None:
        reloaded = open_page()  # a new session each time, as after a browser reload
        bars = [p for p in reloaded.get("progress") if "running" in p.proto.text]
        run = latest(research_env["db"])
        return reloaded if bars and run is not None and run.tasks_done >= 1 else None
    seen = wait_for(progress_shown, 120, "a progress bar of the running run")
    run_id = latest(research_env["db"]).id
    seen.button(key=f"rs_cancel_{run_id}").click().run()
    def cancelled() -> research_store.ResearchRunSummary | None:
        run = latest(research_env["db"])
        return run if run.status == "cancelled" else None
    run = wait_for(cancelled, 60, "the run to be cancelled")
    assert run.tasks_done < 16, run


def test_the_form_shows_only_the_chosen_tools_fields(research_env):
    """Issue 23: every tool's fields were shown at once."""
    app = open_page()
    keys = {w.key for w in (*app.number_input, *app.text_area, *app.selectbox, *app.checkbox)}
    assert {"rs_grid", "rs_objective", "rs_trials"} <= keys
    assert not keys & {"rs_train", "rs_method", "rs_runs", "rs_anchored"}
    app = app.radio(key="rs_kind").set_value("Monte Carlo").run()
    keys = {w.key for w in (*app.number_input, *app.text_area, *app.selectbox, *app.checkbox)}
    assert {"rs_method", "rs_runs", "rs_block", "rs_seed"} <= keys
    assert not keys & {"rs_grid", "rs_objective", "rs_train", "rs_trials"}
    app = app.radio(key="rs_kind").set_value("Walk-forward").run()
    keys = {w.key for w in (*app.number_input, *app.text_area, *app.selectbox, *app.checkbox)}
    assert {"rs_grid", "rs_train", "rs_test", "rs_anchored"} <= keys
    assert not keys & {"rs_method", "rs_runs", "rs_trials"}

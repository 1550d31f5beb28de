"""Memory & learning: similar setups, win rate by bucket, learned rules to decide, lessons, export.

The page's writes: a rule decision (approve / reject / expire, author ``dashboard``) through the
rules store, and starting ``python -m bot export-training`` jobs, which record their own progress.
The running bot picks up a decided rule at its next decision.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from datetime import date, timedelta
from pathlib import Path

import streamlit as st

from dashboard import (
    clicks,
    db_size_views,
    evaluation_views,
    export_files,
    frame,
    memory_views,
    plain,
    tables,
)
from shared.domain.rules import RuleStatus
from shared.persistence import learning_reports, memory_calibration, rules_store
from shared.persistence.db import write_transaction

REPO_ROOT = Path(__file__).resolve().parents[1]

st.title("Memory & learning")
settings, config_problem = frame.current_settings()
if config_problem:
    st.warning(f"The config file is invalid, showing defaults: {plain.escape(config_problem)}")


def decide(rule_id: int, version: int, status: RuleStatus, note: str = "") -> None:
    """Write the user's decision (a new rule version); the bot reloads its rules."""
    try:
        with frame.writer() as conn, write_transaction(conn):
            rules_store.decide_rule(conn, rule_id, status, memory_views.DECIDER, note,
                                    frame.utc_now(), expected_version=version)
    except rules_store.RuleDecisionError as exc:
        st.session_state["rule_message"] = ("error", str(exc))
    else:
        st.session_state["rule_message"] = ("success", f"Rule #{rule_id} {status.value}")


with frame.reader() as conn:
    if conn is None:
        frame.no_database_notice()
        st.stop()
    verdict = learning_reports.latest_memory_verdict(conn)
    buckets = memory_views.bucket_frame(conn)
    growth = learning_reports.memory_growth(conn)
    proposed = rules_store.rules(conn, (RuleStatus.PROPOSED,))
    approved = rules_store.rules(conn, (RuleStatus.APPROVED,))
    decided = rules_store.rules(conn, (RuleStatus.REJECTED, RuleStatus.EXPIRED), limit=50)
    since = {r.id: rules_store.in_force_since(conn, r.id) for r in approved}
    histories = {r.id: memory_views.history_frame(conn, r.id) for r in [*approved, *proposed]}
    acted = memory_views.rule_decisions_frame(conn)
    lessons = rules_store.lessons(conn, 10)
    reviews = rules_store.review_runs(conn, 5)
    calibration = memory_calibration.memory_calibration(conn)
    size = memory_calibration.memory_size(conn)
    evaluations = evaluation_views.layer_runs(conn, "memory")

st.subheader("Latest decision: similar setups")
if verdict is None:
    st.info("No memory verdict yet: memory is off (memory.enabled) or has not been consulted.")
else:
    memory = verdict.memory
    columns = st.columns(4)
    columns[0].metric("Guard", "allowed" if memory.get("allowed", True) else "refused")
    columns[1].metric("Similar setups", memory.get("neighbours_count", 0))
    rate = memory.get("weighted_win_rate")
    columns[2].metric("Weighted win rate", "n/a" if rate is None else f"{rate:.0%}")
    bound = memory.get("expected_r_bound")
    if bound is not None:
        columns[2].caption(f"expected {memory.get('expected_r', 0):+.2f} R, bound {bound:+.2f} R")
    columns[3].metric("Confidence change", f"{memory.get('adjustment', 0):+.3f}")
    st.caption(f"Decision {verdict.decision_id} at {verdict.ts:%Y-%m-%d %H:%M:%S} UTC "
               f"({verdict.signal_action} -> {verdict.verdict}): "
               f"{plain.escape(memory.get('reason', ''))}")
    neighbours = memory_views.neighbours_frame(memory)
    if not neighbours.empty:
        st.dataframe(neighbours, hide_index=True)

st.subheader("Is memory informative?")
st.markdown(memory_views.cold_start_line(settings.memory, size))
brier_line, brier_meaning = memory_views.calibration_lines(calibration)
st.markdown(brier_line)
st.caption(brier_meaning)

st.subheader("Win rate by bucket")
if buckets.empty:
    st.info("No closed trades yet.")
else:  # full width: its seven columns do not fit half the page at 1,024 px
    st.dataframe(buckets, hide_index=True, column_config=tables.MEMORY_BUCKETS)
st.subheader("Memory size")
if growth is None:
    st.info("This database has no memory table yet.")
elif not growth:
    st.metric("Stored setups", 0)
else:
    size, chart = st.columns([1, 3])
    size.metric("Stored setups", sum(g.stored for g in growth),
                f"{sum(g.closed for g in growth)} closed")
    with chart:
        st.plotly_chart(memory_views.growth_figure(growth), key="memory_growth")

st.subheader("Does memory help? (against a placebo)")
if (verdict_line := evaluation_views.headline(evaluations)) is None:
    st.info(evaluation_views.HOW_TO)
else:  # model-free text, but shown as plain text all the same (DESIGN §4.15)
    st.text(verdict_line)
    st.dataframe(evaluation_views.evidence_frame(evaluations), hide_index=True)

st.subheader("Learned rules")
message = st.session_state.pop("rule_message", None)
if message:
    (st.error if message[0] == "error" else st.success)(plain.escape(message[1]))
st.caption("Rules act only once approved here (or auto-applied when they passed the "
           "out-of-sample gate, days they were not mined from, "
           f"learning.auto_apply: {str(settings.learning.auto_apply).lower()}); they can refuse "
           "an entry, raise its confidence threshold or shorten its time exit, never move a "
           "stop, a target or a size.")
if not proposed and not approved:
    st.info("No rule proposed or in force. The nightly review proposes rules after the close "
            "(`python -m bot review --day YYYY-MM-DD` reviews a day now).")
for rule in approved:
    with st.container(border=True):
        st.markdown(f"**{plain.escape(memory_views.rule_line(rule))}**")
        start = since.get(rule.id)
        st.caption(f"In force since {start:%Y-%m-%d %H:%M:%S} UTC" if start else "In force",
                   help="when it was approved")
        st.caption(f"Approved by {plain.escape(rule.decided_by)} · version {rule.version} · "
                   f"expires "
                   f"{rule.expires_at:%Y-%m-%d %H:%M} UTC · "
                   f"{plain.escape(memory_views.backtest_line(rule))}")
        st.button(f"Expire #{rule.id}", key=f"expire_{rule.id}", on_click=decide,
                  args=(rule.id, rule.version, RuleStatus.EXPIRED, "expired on the dashboard"))
        with st.expander("History and evidence"):
            st.dataframe(histories[rule.id], hide_index=True)
            st.json(rule.evidence, expanded=False)
for rule in proposed:
    with st.container(border=True):
        st.markdown(f"**{plain.escape(memory_views.rule_line(rule))}**")
        st.caption(f"Proposed by the review of {plain.escape(rule.review_day)} · expires "
                   f"{rule.expires_at:%Y-%m-%d %H:%M} UTC · "
                   f"{plain.escape(memory_views.backtest_line(rule))}")
        with st.container(horizontal=True):  # buttons as wide as their labels, in one row
            st.button(f"Approve #{rule.id}", key=f"approve_{rule.id}", type="primary",
                      on_click=decide, args=(rule.id, rule.version, RuleStatus.APPROVED))
            st.button(f"Reject #{rule.id}", key=f"reject_{rule.id}", on_click=decide,
                      args=(rule.id, rule.version, RuleStatus.REJECTED))
            st.button(f"Expire #{rule.id}", key=f"expire_{rule.id}", on_click=decide,
                      args=(rule.id, rule.version, RuleStatus.EXPIRED))
        evidence = memory_views.evidence_frame(rule)
        if not evidence.empty:  # in-sample (mined) beside out-of-sample (gate) evidence
            st.dataframe(evidence, hide_index=True)
        with st.expander("Evidence and backtest"):
            st.json({"parameters": json.loads(rule.params_json), "evidence": rule.evidence,
                     "backtest": rule.backtest}, expanded=False)
if decided:
    with st.expander(f"Rejected and expired rules ({len(decided)})"):
        st.dataframe([{"id": r.id, "status": r.status.value, "by": r.decided_by,
                       "kind": r.kind, "summary": r.summary} for r in decided], hide_index=True)
if not acted.empty:
    latest = acted.iloc[0]
    st.markdown(f"Latest decision with rules in force, {latest['time']} UTC: "
                f"**{plain.escape(latest['verdict'])}** {plain.escape(latest['rule'])} — "
                f"{plain.escape(latest['reasons'])}")
    st.dataframe(acted, hide_index=True)

st.subheader("Lessons")
if not lessons:
    st.info("No lesson yet (the review asks the LLM when llm.enabled and learning.lesson).")
for lesson in lessons:
    plain.labelled_text(str(lesson.review_day), lesson.text)
if reviews:
    st.caption(plain.escape("Reviews: " + "; ".join(f"{r.day} {r.status} ({r.message})"
                                                    for r in reviews)))

st.subheader("Training export")
with st.form("export_form"):
    left, middle, right = st.columns(3)
    since_day = left.date_input("Since (trade exits, LLM calls)",
                                date.today() - timedelta(days=30))
    until_day = middle.date_input("Until (inclusive)", None)
    s3_uri = right.text_input("Upload to (optional)", placeholder="s3://bucket/prefix")
    st.form_submit_button("Export training data", on_click=clicks.arm, args=("export",))
if clicks.fired("export"):
    if s3_uri.strip() and not s3_uri.strip().startswith("s3://"):
        st.error("Upload to: expected s3://bucket/prefix")
    else:
        token = uuid.uuid4().hex
        folder = export_files.exports_folder(frame.db_path())
        folder.mkdir(parents=True, exist_ok=True)
        out = folder / f"training-{since_day.isoformat()}-{token[:8]}.jsonl"
        argv = memory_views.export_command(sys.executable, frame.db_path(), frame.config_path(),
                                           since_day, until_day, out, s3_uri, token)
        with (folder / f"export-{token[:8]}.log").open("ab") as log:
            subprocess.Popen(argv, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT,
                             start_new_session=True)
        st.success(f"Export started: {out.name}")


@st.fragment(run_every=1)
def exports_panel() -> None:
    """Recent exports with live progress; a running one can be cancelled."""
    with frame.reader() as conn:
        runs = memory_views.export_rows(conn) if conn is not None else []
    for run in runs[:5]:
        label = plain.escape(f"Export {run.id} ({run.request.get('since')}): {run.status} — "
                             f"{run.message}")
        if run.status == "running":
            st.progress(float(run.progress), text=label)
            if run.pid and st.button(f"Cancel export {run.id}", key=f"cancel_{run.id}"):
                try:
                    os.kill(run.pid, signal.SIGTERM)
                except ProcessLookupError:
                    st.warning(f"Export {run.id} is no longer running")
        elif run.status == "done":
            st.success(label)
            files = [run.result.get(k) for k in ("training_file", "heldout_file", "audit_file")]
            st.caption(plain.escape(" · ".join(str(f) for f in files if f)))
        else:
            st.error(label)
    done = {run.id for run in runs if run.status == "done"}
    if not done <= st.session_state.setdefault("exports_done", done):
        # An export finished: rerun the page once so its download buttons appear now.
        st.session_state["exports_done"] = done
        st.rerun(scope="app")


exports_panel()


def export_downloads() -> None:
    """Download buttons for the files of the finished exports (outside the 1-s fragment: a
    button redrawn every second would lose its file while the browser fetches it)."""
    with frame.reader() as conn:
        runs = memory_views.export_rows(conn) if conn is not None else []
    finished = {run.id: run for run in runs if run.status == "done"}
    if not finished:
        return
    chosen = finished[st.selectbox(
        "Download the files of", list(finished), key="export_download_run",
        format_func=lambda run_id: f"Export {run_id} (since "
                                   f"{finished[run_id].request.get('since')})")]
    folder = export_files.exports_folder(frame.db_path())
    files = export_files.export_files(chosen.result, folder)
    if not files:
        st.info("This export wrote no file.")
    for column, item in zip(st.columns(max(1, len(files))), files, strict=False):
        if item.path is None:
            column.error(plain.escape(item.problem or "not offered"))
            continue
        column.download_button(
            f"Download {item.kind} ({db_size_views.human_bytes(item.size_bytes)})",
            export_files.reader(item.path), item.name, export_files.JSONL_MIME,
            on_click="ignore", key=f"export_{chosen.id}_{item.kind}")
    if chosen.result.get("no_training_reason"):
        st.caption(plain.escape(f"No training file: {chosen.result['no_training_reason']}"))


export_downloads()

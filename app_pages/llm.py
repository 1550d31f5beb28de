"""LLM: provider status, calls and cost against the limits, detector, manual trigger, call log.

The page never calls a model: a manual trigger is a ``trigger_llm`` command for the running bot,
or, when no bot runs, a claimed command answered by a one-off ``python -m bot analyze`` job.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import streamlit as st

from dashboard import clicks, evaluation_views, fmt, frame, llm_reports, plain, tables, zones
from shared.domain.models import CommandKind
from shared.persistence import codec, llm_state, llm_store, ops_store
from shared.persistence.db import write_transaction

REPO_ROOT = Path(__file__).resolve().parents[1]

st.title("LLM")
settings, config_problem = frame.current_settings()
llm = settings.llm
if config_problem:
    st.warning(f"The config file is invalid, showing defaults: {plain.escape(config_problem)}")


@st.fragment(run_every=settings.dashboard.refresh_seconds)
def status_panel() -> None:
    now = frame.utc_now()
    zone = frame.display_zone()
    with frame.reader() as conn:
        if conn is None:
            frame.no_database_notice()
            return
        state = llm_state.read_state(conn)
        usage = llm_store.daily_usage(conn, now.date().isoformat())
        history = llm_reports.cost_history_frame(conn, now.date())
        routes = llm_reports.route_cost_frame(conn)
        bot = ops_store.read_bot_state(conn)
        bar_now = bot.last_bar_ts if bot else None
        detector = llm_reports.detector_frame(conn, bar_now, settings.events.cooldown_minutes)
    columns = st.columns(5)
    if state is None:
        columns[0].metric("Provider", llm.provider)
        columns[0].caption("enabled in config" if llm.enabled else "off (llm.enabled: false)")
    else:
        columns[0].metric("Provider", state["provider"],
                          "available" if state["available"] else "unavailable",
                          delta_color="normal" if state["available"] else "inverse")
        columns[0].caption(plain.escape(state["reason"] or state["model"]))
    columns[1].metric("Mode", llm.mode)
    bias = state["bias"] if state else "neutral"
    columns[2].metric("Bias in force", bias)
    if state and state["bias_expires_at"]:
        columns[2].caption(f"confidence {state['bias_confidence']:.2f}, until "
                           f"{zones.fmt_time(codec.from_text(state['bias_expires_at']), zone)}")
    columns[3].metric("Calls today", f"{usage.calls:,}")
    columns[3].progress(min(1.0, usage.calls / max(1, llm.daily_call_quota)),
                        text=f"quota {llm.daily_call_quota:,}/day")
    columns[4].metric("Cost today", fmt.cost_usd(usage.cost_usd))
    columns[4].progress(min(1.0, usage.cost_usd / max(1e-9, llm.daily_cost_limit_usd)),
                        text=f"limit {fmt.usd_amount(llm.daily_cost_limit_usd)}/day")
    if usage.refused:
        st.caption(f"{usage.refused} call(s) refused by the governor today")
    st.plotly_chart(llm_reports.cost_chart(history), key="llm_cost")
    if llm.routes or len(routes) > 1:
        st.caption("Cost per model route (llm.routes; every call logged, all days)")
        st.dataframe(routes, hide_index=True, column_config=tables.LLM_ROUTES,
                     placeholder=tables.EMPTY)
    st.subheader("Detector")
    st.caption(f"Triggers: {plain.escape(', '.join(settings.events.triggers) or 'none')}; "
               f"cooldown "
               f"{settings.events.cooldown_minutes:g} min (bar time)")
    st.dataframe(zones.in_zone(detector, zone), hide_index=True,
                 column_config=tables.LLM_DETECTOR, placeholder=tables.EMPTY)


def ask(notes: str, context: str) -> None:
    payload = {"notes": notes, "context": context}
    with frame.writer() as conn:
        running = llm_reports.bot_is_running(ops_store.read_bot_state(conn), frame.utc_now())
        with write_transaction(conn):
            command_id = ops_store.enqueue_command(conn, CommandKind.TRIGGER_LLM,
                                                   frame.utc_now(), payload)
            if not running:  # no bot to take it: a one-off job will, claimed in the same step
                llm_state.claim_command(conn, command_id, llm_state.JOB_CLAIM, frame.utc_now())
    if not running:
        argv = llm_reports.analyze_command(sys.executable, command_id, frame.db_path(),
                                           frame.config_path())
        # In the dashboard's process group: stopping the dashboard stops the job too.
        subprocess.Popen(argv, cwd=REPO_ROOT, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    st.session_state["llm_command"] = command_id
    st.session_state["llm_via"] = "the running bot" if running else "a one-off analyze job"


status_panel()

st.subheader("Ask now")
with st.form("llm_manual"):
    st.text_area("Notes for the model", max_chars=2000, key="llm_notes",
                 help="Sent as untrusted data: it cannot change the instructions")
    st.text_input("Optional context", max_chars=2000, key="llm_context")
    # A callback, not ``if st.form_submit_button(...)``: Streamlit runs it once per click,
    # whereas a timed refresh that interrupts the click's run replays the click into the
    # next run's body (a second paid call).
    st.form_submit_button("Ask the LLM", type="primary", on_click=lambda: ask(
        st.session_state.get("llm_notes", ""), st.session_state.get("llm_context", "")))


@st.fragment(run_every=2)
def result_panel() -> None:
    command_id = st.session_state.get("llm_command")
    if command_id is None:
        return
    with frame.reader() as conn:
        command = ops_store.command_outcome(conn, command_id) if conn else None
        call = llm_store.call_for_command(conn, command_id) if conn else None
    st.caption(f"Command #{command_id} via {st.session_state.get('llm_via')}: "
               f"{command.status if command else 'unknown'}")
    if call is not None and call.status not in ("pending",):
        if st.session_state.get("llm_header_for") != command_id:
            # The answer is in: rerun the whole page once so the header (bias, calls and cost
            # today) shows it now, not at its next timed refresh.
            st.session_state["llm_header_for"] = command_id
            st.rerun(scope="app")
        summary = llm_reports.reply_summary(call)
        (st.success if summary.ok else st.error)(plain.escape(summary.headline))
        if summary.rationale:
            plain.labelled_text("Rationale", summary.rationale)
        if summary.key_factors:
            plain.labelled_text("Key factors", "\n".join(summary.key_factors))
        if summary.risk_notes:
            plain.labelled_text("Risk notes", summary.risk_notes)
    elif command is not None and command.result:
        st.info(plain.escape(command.result))
    else:
        st.info("Waiting for the analysis…")


result_panel()

st.subheader("Headlines")
with st.form("llm_news", clear_on_submit=True):
    headline = st.text_input("Headline", max_chars=500,
                             help=f"Keywords: {', '.join(settings.events.news_keywords)}")
    st.form_submit_button("Add headline", on_click=clicks.arm, args=("add_headline",))
    if clicks.fired("add_headline") and headline.strip():
        with frame.writer() as conn, write_transaction(conn):
            llm_state.insert_news(conn, headline.strip(), "dashboard", frame.utc_now())
        st.success("Headline stored; the bot checks it for keywords (the news program scores "
                   "it when news.enabled)")


@st.fragment(run_every=settings.dashboard.refresh_seconds)
def log_panel() -> None:
    with frame.reader() as conn:
        if conn is None:
            return
        news = llm_reports.headlines_frame(conn, 20)
        calls = llm_reports.calls_frame(conn)
        details = {r.call_id: r for r in llm_store.recent_calls(conn, 200)}
    zone = frame.display_zone()
    if not news.empty:
        st.dataframe(zones.in_zone(news, zone, ("created_at",)), hide_index=True,
                     column_config=tables.LLM_HEADLINES, placeholder=tables.EMPTY)
    st.subheader("Calls")
    st.caption(f"Times in {zones.zone_label(zone)}")
    st.dataframe(llm_reports.calls_shown(zones.in_zone(calls, zone, ("created_at",))),
                 hide_index=True,
                 column_config=tables.LLM_CALLS, column_order=tables.LLM_CALL_ORDER,
                 placeholder=tables.EMPTY)
    if details:
        chosen = st.selectbox("Call", list(details), format_func=lambda i: (
            f"#{i} {details[i].trigger} {details[i].status} "
            f"{zones.fmt_time(details[i].created_at, zone)}"))
        row = details[chosen]
        st.caption(f"template {row.template_version} · stop "
                   f"{plain.escape(row.stop_reason or '-')} · "
                   f"retries {row.retry_attempts}")
        left, right = st.columns(2)
        left.code(row.system_prompt + "\n\n" + row.prompt, language="text",
                  wrap_lines=True)
        right.code(row.response or row.error or "(no response)", language="json",
                   wrap_lines=True)


log_panel()


@st.fragment(run_every=settings.dashboard.refresh_seconds)
def attribution_panel() -> None:
    with frame.reader() as conn:
        if conn is None:
            return
        figures = llm_reports.attribution(conn)
    st.subheader("What the LLM was worth")
    columns = st.columns(4)
    columns[0].metric("Trades it enabled", figures.enabled_trades,
                      fmt.usd_amount(figures.enabled_pnl_usd), delta_color="normal")
    columns[1].metric("Entries it skipped", figures.vetoed,
                      help="Shadow brackets followed to their exits (gross P&L)")
    columns[1].caption(f"loss avoided {fmt.usd_amount(figures.avoided_loss_usd)} · gain "
                       f"missed {fmt.usd_amount(figures.missed_gain_usd)}")
    for column, label, count, rate in (
        (columns[2], "Win % agreed", figures.agreed_trades, figures.agreed_win_rate),
        (columns[3], "Win % disagreed", figures.disagreed_trades,
         figures.disagreed_win_rate),
    ):
        column.metric(label, "-" if rate is None else f"{rate:.0%}",
                      help=f"Win rate of the trades entered while the LLM's bias "
                           f"{label.split()[-1]} with the signal")
        column.caption(f"{count} trade(s)")


attribution_panel()


with frame.reader() as evaluation_conn:
    llm_evaluations = (evaluation_views.layer_runs(evaluation_conn, "llm")
                       if evaluation_conn is not None else [])
st.subheader("Does the LLM help? (against a placebo)")
if (llm_verdict := evaluation_views.headline(llm_evaluations)) is None:
    st.info(evaluation_views.how_to("llm"))
else:
    st.text(llm_verdict)
    st.dataframe(evaluation_views.evidence_frame(llm_evaluations), hide_index=True,
                 placeholder=tables.EMPTY)


def calibration_panel() -> None:
    """Is the model right as often as it says? Every ok call scored against the 45-min move."""
    from dashboard import llm_calibration  # here, so the page's header stays untouched

    st.subheader("Calibration: is it right as often as it says?")
    with frame.reader() as conn:
        if conn is None:
            return
        scored, waiting = llm_calibration.ledger(conn)
    figures = llm_calibration.calibration(scored)
    measured = llm_calibration.skill(scored, llm.skill_min_calls)
    st.text(llm_calibration.meaning(figures, llm.skill_min_calls, measured))
    st.caption(f"{waiting} answered call(s) not scored (the bar 45 minutes after the prompt is "
               "not journaled yet, or the prompt has no market bar). Skill scaling is "
               f"{'on' if llm.skill_scaled else 'off'} (llm.skill_scaled).")
    if not scored:
        return
    st.plotly_chart(llm_calibration.reliability_figure(scored), key="llm_reliability")
    for title, table in (("By confidence decile", llm_calibration.decile_frame(scored)),
                         ("By trigger", llm_calibration.trigger_frame(scored)),
                         ("By model and mode", llm_calibration.model_frame(scored))):
        st.caption(title)
        st.dataframe(table, hide_index=True, column_config=tables.LLM_CALIBRATION,
                     placeholder=tables.EMPTY)


calibration_panel()


@st.fragment(run_every=settings.dashboard.refresh_seconds)
def finetune_panel() -> None:
    with frame.reader() as conn:
        if conn is None:
            return
        jobs = llm_reports.finetune_frame(conn)
    if jobs.empty:
        return
    st.subheader("Fine-tuning jobs")
    st.caption("python -m bot finetune start | status | evaluate: a custom model answers a "
               "route only once its held-out evaluation shows a Brier score not above its "
               "base model's")
    st.dataframe(zones.in_zone(jobs, frame.display_zone(), ("created_at",)), hide_index=True,
                 column_config=tables.FINETUNE_JOBS, placeholder=tables.EMPTY)


finetune_panel()

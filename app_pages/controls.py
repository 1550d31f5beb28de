"""Bot control: start/stop the process via supervisor; halt, resume and flatten via commands;
the tail of the bot's log."""

from __future__ import annotations

import streamlit as st

from dashboard import bot_down, clicks, db_size_views, frame, log_tail, plain, tables, zones
from shared.domain.models import CommandKind
from shared.persistence import ops_store, report_queries
from shared.persistence.db import write_transaction
from shared.persistence.lock_file import describe_status, lock_status
from shared.persistence.ops_store import enqueue_command
from shared.supervisor import process_info, start_process, stop_process

st.title("Bot control")


def queue(kind: CommandKind, payload: dict | None = None) -> None:
    with frame.writer() as conn, write_transaction(conn):
        command_id = enqueue_command(conn, kind, frame.utc_now(), payload)
    st.session_state["last_command"] = f"{kind.value} queued as command #{command_id}"


@st.fragment(run_every=2)
def process_panel() -> None:
    info = process_info("bot")
    st.metric("Bot process", info.state)
    st.caption(plain.escape(info.description))
    zone = frame.display_zone()
    st.caption(plain.escape(describe_status(  # the journal's lock, its time in the chosen zone
        lock_status(frame.db_path()), lambda text: zones.fmt_iso(text, zone))))
    left, right = st.columns(2)
    if left.button("Start bot", disabled=info.state in ("RUNNING", "STARTING")):
        st.toast(plain.escape(start_process("bot", wait=False)))
        st.rerun(scope="fragment")
    if right.button("Stop bot", disabled=info.state != "RUNNING"):
        with frame.reader() as conn:
            state = ops_store.read_bot_state(conn) if conn is not None else None
        warning = bot_down.stop_warning(state)
        if warning is None:
            stop_bot()
        else:  # ask first, saying what stays protected
            st.session_state["stop_warning"] = warning
    warning = st.session_state.get("stop_warning")
    if warning is not None:
        st.warning(plain.escape(warning))
        confirm, cancel = st.columns(2)
        confirm.button("Stop the bot, leave the position open", type="primary",
                       on_click=confirmed_stop)
        cancel.button("Keep the bot running", on_click=st.session_state.pop,
                      args=("stop_warning", None))


def confirmed_stop() -> None:
    st.session_state.pop("stop_warning", None)
    st.toast(plain.escape(stop_process("bot", wait=True)))


def stop_bot() -> None:
    with st.spinner("Stopping: the bot finishes its bar and exits"):
        st.toast(plain.escape(stop_process("bot", wait=True)))
    st.rerun(scope="fragment")


process_panel()

st.subheader("Entries")
halt_column, resume_column = st.columns(2)
halt_column.button("Halt entries", on_click=clicks.arm, args=("halt",))
resume_column.button("Resume entries", on_click=clicks.arm, args=("resume",))
if clicks.fired("halt"):
    queue(CommandKind.HALT, {"reason": "halted from the dashboard"})
if clicks.fired("resume"):
    queue(CommandKind.RESUME)

st.subheader("Flatten all (kill switch)")
confirm = st.checkbox("I understand: cancel the pending entry, exit any position at the next "
                      "bar's open, and halt new entries")
st.button("Flatten all", type="primary", disabled=not confirm, on_click=clicks.arm,
          args=("flatten",))
if clicks.fired("flatten") and confirm:
    queue(CommandKind.FLATTEN, {"halt": True})

if "last_command" in st.session_state:
    st.success(st.session_state["last_command"])


@st.fragment(run_every=2)
def outcomes_panel() -> None:
    with frame.reader() as conn:
        if conn is None:
            frame.no_database_notice()
            return
        commands = report_queries.commands_frame(conn)
        events = report_queries.events_frame(conn)
    zone = frame.display_zone()
    st.subheader("Commands and outcomes")
    st.caption(f"Times in {zones.zone_label(zone)}")
    st.dataframe(tables.readable(zones.in_zone(commands, zone, ("created_at", "processed_at"))),
                 hide_index=True, column_config={
                     "created_at": st.column_config.DatetimeColumn(format=tables.TIME),
                     "processed_at": st.column_config.DatetimeColumn(format=tables.TIME),
                     "result": st.column_config.TextColumn(width="large")})
    st.subheader("Events")
    st.dataframe(tables.readable(zones.in_zone(events, zone, ("ts",))), hide_index=True,
                 column_config={
        "ts": st.column_config.DatetimeColumn("time", format=tables.TIME),
        "message": st.column_config.TextColumn(width="large")})


outcomes_panel()


@st.fragment
def log_panel() -> None:
    st.subheader("Bot log")
    path = log_tail.bot_log_path()
    level_column, lines_column, refresh_column = st.columns([3, 3, 2])
    minimum = level_column.segmented_control(
        "Level (and above)", log_tail.FILTER_LEVELS, default=log_tail.Level.INFO,
        format_func=lambda level: level.name, key="log_level") or log_tail.Level.INFO
    count = lines_column.selectbox("Lines", log_tail.LINE_CHOICES, index=1, key="log_lines")
    refresh_column.button("Refresh log", key="log_refresh")
    tail = log_tail.read_tail(path)
    if tail.problem is not None:
        st.info(plain.escape(tail.problem))
        return
    lines = log_tail.filtered(tail, minimum, count)
    read = db_size_views.human_bytes(tail.bytes_read)
    whole = db_size_views.human_bytes(tail.file_bytes)
    st.caption(plain.escape(f"{path}: {len(lines)} line(s) at {minimum.name} or above, from the "
                            f"last {read} of {whole}" if tail.truncated else
                            f"{path}: {len(lines)} line(s) at {minimum.name} or above"))
    st.code("\n".join(lines) or "(no line at this level)", language=None, wrap_lines=True,
            height=420)


log_panel()


@st.fragment(run_every=60)
def database_panel() -> None:
    with frame.reader() as conn:
        if conn is None:
            return
        view = db_size_views.db_size_view(conn, frame.db_path())
    st.subheader("Database size")
    file_column, wal_column, free_column, growth_column = st.columns(4)
    file_column.metric("Journal file", db_size_views.human_bytes(view.file_bytes))
    wal_column.metric("WAL", db_size_views.human_bytes(view.wal_bytes))
    free_column.metric("Free for reuse", db_size_views.human_bytes(view.free_bytes))
    growth_column.metric("Growth per day", db_size_views.human_bytes(view.growth_bytes_per_day))
    st.caption(plain.escape(view.summary(frame.utc_now())))
    if not view.tables.empty:
        st.dataframe(view.tables, hide_index=True)


database_panel()

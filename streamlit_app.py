"""Dashboard entry point: page config, password gate, bot status sidebar, page navigation.

The pages live in ``app_pages/``, not ``pages/``: with a ``pages/`` folder beside this file,
Streamlit serves a deep link such as ``/trades`` on a fresh server by running that page alone
(its legacy multipage mode), skipping this script and so the password gate.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard import frame, plain
from dashboard.status import bot_status
from shared.persistence import ops_store
from shared.supervisor import process_info

# A local icon: a ``:material/…:`` or emoji icon makes the browser fetch it from Google's or
# jsDelivr's servers, and a trading box may be offline.
FAVICON = Path(__file__).parent / "dashboard" / "assets" / "favicon.svg"
st.set_page_config(page_title="MyTrader", page_icon=str(FAVICON), layout="wide")

frame.apply_layout()
if not frame.password_ok():
    st.stop()

MODE_LABELS = {"paper": "paper", "ib_paper": "IB paper", "ib_live": "IB LIVE"}


def status_sidebar() -> None:
    """Bot process and liveness (supervisord + heartbeat age), mode, broker, entries; rerun
    every ``dashboard.refresh_seconds`` (5 s by default) as a fragment."""
    settings, _ = frame.current_settings()
    process = process_info("bot")
    with frame.reader() as conn:
        state = ops_store.read_bot_state(conn) if conn is not None else None
    status = bot_status(process, state, frame.utc_now(), settings.engine.heartbeat_seconds)
    st.metric("Bot", status.liveness.value, help=plain.escape(
        f"supervisor: {process.state}. {process.description}"))
    (st.warning if status.stale else st.caption)(status.heartbeat_line)
    if state is not None:
        st.caption(f"Mode: **{plain.escape(MODE_LABELS.get(state.mode, state.mode))}** · "
                   f"{plain.escape(state.symbol)}")
    st.caption(status.broker_line)
    (st.caption if status.entries_allowed or not status.running else st.error)(
        status.entries_line)


with st.sidebar:
    frame.zone_selector()
    st.fragment(status_sidebar,
                run_every=frame.current_settings()[0].dashboard.refresh_seconds)()

navigation = st.navigation({
    "Monitor": [
        st.Page("app_pages/overview.py", title="Overview", icon=":material/monitoring:",
                default=True),
        st.Page("app_pages/trades.py", title="Trades & performance",
                icon=":material/receipt_long:"),
    ],
    "Operate": [
        st.Page("app_pages/controls.py", title="Bot control", icon=":material/smart_toy:"),
        st.Page("app_pages/config.py", title="Config", icon=":material/tune:"),
        st.Page("app_pages/llm.py", title="LLM", icon=":material/psychology:"),
        st.Page("app_pages/alerts.py", title="Alerts", icon=":material/notifications:"),
    ],
    "Research": [
        st.Page("app_pages/backtest.py", title="Backtest", icon=":material/query_stats:"),
        st.Page("app_pages/research.py", title="Research", icon=":material/grid_on:"),
        st.Page("app_pages/memory.py", title="Memory & learning", icon=":material/school:"),
    ],
})
navigation.run()

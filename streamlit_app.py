"""Dashboard entry point: page config, password gate, bot status sidebar, page navigation.

The pages live in ``app_pages/``, not ``pages/``: with a ``pages/`` folder beside this file,
Streamlit serves a deep link such as ``/trades`` on a fresh server by running that page alone
(its legacy multipage mode), skipping this script and so the password gate.
"""

from __future__ import annotations

import streamlit as st

from dashboard import frame
from shared.persistence import ops_store
from shared.supervisor import process_info

st.set_page_config(page_title="MyTrader", page_icon=":material/candlestick_chart:", layout="wide")

if not frame.password_ok():
    st.stop()

MODE_LABELS = {"paper": "paper", "ib_paper": "IB paper", "ib_live": "IB LIVE"}


@st.fragment(run_every=5)
def status_sidebar() -> None:
    """Bot process, heartbeat, mode, broker connection and halt flag."""
    process = process_info("bot")
    st.metric("Bot process", process.state, help=process.description)
    with frame.reader() as conn:
        state = ops_store.read_bot_state(conn) if conn is not None else None
    age_s = frame.heartbeat_age_s(state)
    if state is None or age_s is None:
        st.warning("No heartbeat yet")
        return
    stale = age_s > 30
    (st.error if stale else st.caption)(f"Heartbeat {age_s:.0f} s ago" + (" (stale)" if stale
                                                                          else ""))
    st.caption(f"Mode: **{MODE_LABELS.get(state['mode'], state['mode'])}** · {state['symbol']}")
    st.caption("Broker: " + ("connected" if state["broker_connected"] else "**disconnected**"))
    if state["halted"]:
        st.error(f"Entries halted: {state['halt_reason']}")
    else:
        st.caption("Entries: allowed")


with st.sidebar:
    status_sidebar()

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
    ],
    "Research": [
        st.Page("app_pages/backtest.py", title="Backtest", icon=":material/query_stats:"),
        st.Page("app_pages/research.py", title="Research", icon=":material/grid_on:"),
    ],
})
navigation.run()

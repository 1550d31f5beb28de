"""The risk panel shows each protection in force with its state (issue 23, protections)."""

from __future__ import annotations

from dataclasses import replace

from shared.persistence import ops_store
from shared.persistence.db import connect, write_transaction
from tests.pages import apptest
from tests.pages.conftest import shown

BLOCKED = ("CPI at 2025-10-24 08:30 ET: no entries from 45 min before to 45 min after")
LINES = ("Daily loss cap $200.00: 0.8% of $25,000 equity is $200.00, the fixed limit $300.00; "
         "the smaller applies",
         "Release blackout CPI, NFP, FOMC -45/+45 min: next CPI Fri 2025-10-24 08:30 ET")


def test_the_risk_panel_lists_the_protections_and_the_refusing_one(app_env):
    conn = connect(app_env["db"])
    try:
        state = ops_store.read_bot_state(conn)
        with write_transaction(conn):
            ops_store.upsert_bot_state(conn, replace(
                state, entries_blocked_reason=BLOCKED, protections_status="\n".join(LINES),
                status="running"))
    finally:
        conn.close()
    app = apptest.open_page("app_pages/overview.py")
    assert not app.exception
    assert "**Protections**" in [m.value for m in app.markdown]
    captions = [shown(c.value) for c in app.caption]
    assert all(line in captions for line in LINES)
    # no supervisor here: the panel says the bot is not running rather than why it would refuse
    # (tests/dashboard/test_trader_view.py checks the reason's path; the live heartbeat's in
    # tests/integration/test_protections_parity.py)
    assert any("the bot is not running" in shown(i.value) for i in app.info)

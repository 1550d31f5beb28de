"""The Overview price chart draws the session levels the newest decision journaled."""

from __future__ import annotations

import json

from shared.persistence import journal_store
from shared.persistence.db import connect
from tests.pages import apptest


def test_overview_draws_the_newest_decisions_session_levels(app_env):
    conn = connect(app_env["db"])
    (newest,) = journal_store.recent_decisions(conn, 1)
    close = float(newest["close"])
    assert json.loads(newest["features_json"])["session_vwap"] > 0  # the paper run journals it
    with conn:  # known levels as prices beside the other features, unknown ones null
        conn.execute("UPDATE decisions SET features_json = json_set(features_json, "
                     "'$.session_vwap', ?, '$.opening_range_high', ?, '$.prior_day_low', ?, "
                     "'$.opening_range_low', NULL, '$.prior_day_high', NULL, "
                     "'$.prior_day_close', NULL, '$.overnight_high', NULL, "
                     "'$.overnight_low', NULL) WHERE id = ?",
                     (close - 1.5, close + 4.25, close - 20.0, newest["id"]))
    conn.close()
    app = apptest.open_page("app_pages/overview.py")
    assert not app.exception, app.exception
    price = next(json.loads(c.proto.spec) for c in app.get("plotly_chart")
                 if any(t.get("name") == "Price" for t in json.loads(c.proto.spec)["data"]))
    lines = {t["name"].rsplit(" ", 1)[0]: t["y"] for t in price["data"]
             if t.get("name", "").startswith(("VWAP", "OR ", "Prior", "ON "))}
    assert lines == {"VWAP": [close - 1.5] * 2, "OR high": [close + 4.25] * 2,
                     "Prior low": [close - 20.0] * 2}

"""The Bot control page shows the journal's size, growth and last nightly maintenance."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from bot.maintenance.nightly import run_maintenance
from bot.ports import wall_clock_utc
from shared.config.maintenance import MaintenanceConfig
from tests.pages import apptest
from tests.pages.conftest import shown

pytestmark = pytest.mark.integration



def open_controls() -> AppTest:
    return apptest.open_page("app_pages/controls.py")


def test_the_size_panel_shows_the_file_and_the_last_maintenance_run(app_env):
    app = open_controls()
    assert not app.exception, app.exception
    assert "Database size" in [h.value for h in app.subheader]
    captions = [shown(c.value) for c in app.caption]
    assert any(c.startswith("No nightly maintenance recorded yet") for c in captions), captions

    report = run_maintenance(app_env["db"], MaintenanceConfig(backup_keep=2), wall_clock_utc())
    app = open_controls()
    assert not app.exception, app.exception
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Journal file"].endswith(("KB", "MB")) and "Growth per day" in metrics
    captions = [shown(c.value) for c in app.caption]
    line = f"backup {Path(report.backup_path).name}"
    assert any(c.startswith("Last maintenance 0 h ago (done)") and line in c
               for c in captions), captions
    table = app.dataframe[-1].value
    assert "decisions" in set(table["table"]) and table["rows"].sum() > 1000

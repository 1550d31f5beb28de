"""Stopping the bot while it holds a position asks first and says what stays protected; the
Overview of a stopped bot shows no "entries allowed" and its P&L as of the last heartbeat.

supervisord's XML-RPC is replaced by a recorder here (the page calls ``process_info`` and
``stop_process``); everything else (journal, heartbeat, pages) is real."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import shared.supervisor
from shared.persistence import ops_store
from shared.persistence.db import open_database, write_transaction
from shared.supervisor import ProcessInfo
from tests.pages.conftest import shown, wire_dashboard

APP = str(Path(__file__).resolve().parents[2] / "streamlit_app.py")


@pytest.fixture
def supervisor(monkeypatch) -> dict:
    """A stand-in supervisord: the bot's state, and every stop request recorded."""
    fake = {"state": "RUNNING", "stops": []}
    monkeypatch.setattr(shared.supervisor, "process_info",
                        lambda name, url=None: ProcessInfo(name, fake["state"], "pid 42", 42))

    def stop(name: str, wait: bool = True, url: str | None = None) -> str:
        fake["stops"].append(name)
        fake["state"] = "STOPPED"
        return f"{name} stopped"

    monkeypatch.setattr(shared.supervisor, "stop_process", stop)
    return fake


def _beat(db: Path, mode: str = "paper", contracts: int = 1, status: str = "running") -> None:
    conn = open_database(db)
    with write_transaction(conn):
        ops_store.upsert_bot_state(conn, ops_store.Heartbeat(
            heartbeat_at=datetime.now(UTC), mode=mode, symbol="MES", status=status, pid=42,
            position_side="long" if contracts else None, position_contracts=contracts,
            position_entry_price=5000.0 if contracts else None,
            position_stop_price=4990.0 if contracts else None, last_price=5004.0,
            unrealized_cents=2000 if contracts else 0, max_trades_per_day=10))
    conn.close()


def _controls(tmp_path, monkeypatch) -> tuple[AppTest, Path]:
    db = tmp_path / "trader.db"
    wire_dashboard(monkeypatch, db, tmp_path / "config.yaml")
    return AppTest.from_file(APP, default_timeout=60).run(), db


def _click(app: AppTest, label: str) -> AppTest:
    return next(b for b in app.button if b.label == label).click().run()


@pytest.mark.parametrize(("mode", "protection"), [
    ("paper", "while it is stopped nothing protects the position"),
    ("ib_paper", "Interactive Brokers holds the stop and the target as resting orders"),
])
def test_stopping_with_a_position_asks_and_says_what_stays_protected(
        tmp_path, monkeypatch, supervisor, mode, protection):
    app, db = _controls(tmp_path, monkeypatch)
    _beat(db, mode)
    app = _click(app.switch_page("app_pages/controls.py").run(), "Stop bot")
    assert supervisor["stops"] == []  # nothing stopped yet
    (warning,) = [shown(w.value) for w in app.warning]
    assert "holds a position: long 1 MES @ 5,000.00" in warning and protection in warning
    app = _click(app, "Keep the bot running")
    assert supervisor["stops"] == [] and not app.warning
    app = _click(_click(app, "Stop bot"), "Stop the bot, leave the position open")
    assert supervisor["stops"] == ["bot"]


def test_stopping_a_flat_bot_needs_no_confirmation(tmp_path, monkeypatch, supervisor):
    app, db = _controls(tmp_path, monkeypatch)
    _beat(db, contracts=0)
    _click(app.switch_page("app_pages/controls.py").run(), "Stop bot")
    assert supervisor["stops"] == ["bot"]


def test_the_overview_of_a_stopped_bot_shows_no_live_entries_or_pnl(tmp_path, monkeypatch,
                                                                     supervisor):
    supervisor["state"] = "STOPPED"
    app, db = _controls(tmp_path, monkeypatch)
    _beat(db, status="stopped")
    app = app.switch_page("app_pages/overview.py").run()
    assert not app.exception, app.exception
    assert not any("New entries allowed" in s.value for s in app.success)
    assert any("No new entries: the bot is not running" in i.value for i in app.info)
    warnings = [shown(w.value) for w in app.warning]
    assert any(w.startswith("The bot is stopped: no new entries; open P&L and levels are as "
                            "of its last heartbeat at") for w in warnings)
    assert any("nothing protects the position" in w for w in warnings)
    labels = {m.label: m.value for m in app.metric}
    assert labels["Open P&L (last heartbeat)"] == "$20.00" and "Open P&L" not in labels


def test_the_overview_of_a_running_bot_is_unchanged(tmp_path, monkeypatch, supervisor):
    app, db = _controls(tmp_path, monkeypatch)
    _beat(db)
    app = app.switch_page("app_pages/overview.py").run()
    assert any("New entries allowed" in s.value for s in app.success)
    assert "Open P&L" in {m.label for m in app.metric} and not app.warning

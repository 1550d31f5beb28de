"""The password gate in AppTest: 40 wrong passwords from one client lock it out, the right
password is refused until the lockout ends, and the lockout is journaled once."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from dashboard import login_limiter
from shared.persistence import login_audit
from tests.integration.botproc import query
from tests.pages.conftest import wire_dashboard

APP = str(Path(__file__).resolve().parents[2] / "streamlit_app.py")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _lockout_rows(conn):
    return conn.execute("SELECT author, status, result FROM commands WHERE kind = ?",
                        (login_audit.LOGIN_LOCKOUT,)).fetchall()


def _try(app: AppTest, password: str) -> list[str]:
    app.text_input[0].input(password)
    app.button[0].click().run()
    return [e.value for e in app.error]


def test_forty_wrong_passwords_lock_the_client_out_until_the_lockout_ends(tmp_path,
                                                                          monkeypatch):
    db = tmp_path / "trader.db"
    wire_dashboard(monkeypatch, db, tmp_path / "config.yaml")
    monkeypatch.setenv("DASHBOARD_PASSWORD", "s3cret")
    clock = Clock()
    monkeypatch.setattr(login_limiter, "LIMITER", login_limiter.LoginLimiter(clock=clock))
    app = AppTest.from_file(APP, default_timeout=60).run()
    errors = []
    for _ in range(40):  # 40 tries in 4 s, as from a script
        errors.append(_try(app, "wrong"))
        clock.now += 0.1
    assert errors[0] == ["Wrong password"]
    assert any("wait" in e[0] for e in errors)
    assert "login is locked for 15 min" in errors[-1][0]
    assert not app.title
    refused = _try(app, "s3cret")
    assert len(refused) == 1 and "login is locked" in refused[0]
    assert not app.title
    rows = query(db, _lockout_rows)
    assert [(r["author"], r["status"]) for r in rows] == [("dashboard:unknown client",
                                                           "failed")]
    assert "after 10 wrong passwords" in rows[0]["result"]
    clock.now += 15 * 60
    assert _try(app, "s3cret") == []
    assert app.title[0].value == "Overview"

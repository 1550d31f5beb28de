"""``python -m bot news`` as a real process: IB bulletins and news ticks from the fake gateway."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from shared.persistence import news_store
from tests.integration.botproc import REPO_ROOT, query, stop_bot, wait_for, write_config
from tests.integration.ibbot import events

pytestmark = pytest.mark.integration


def start_news(config: Path, db: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "bot", "news", "--config", str(config), "--db", str(db)],
            cwd=REPO_ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1"}, stdout=out,
            stderr=subprocess.STDOUT)


def headlines(db: Path) -> list[news_store.NewsRow]:
    return list(reversed(query(db, news_store.recent_headlines, 100) or []))


def test_bulletins_and_news_ticks_are_stored_once_and_scored(tmp_path, fake):
    db, log = tmp_path / "t.db", tmp_path / "news.log"
    config = write_config(tmp_path, "c.yaml", {
        "ib": {"port": fake.port, "connect_timeout_s": 3, "reconnect_initial_s": 0.2,
               "reconnect_max_s": 1.0},
        "news": {"enabled": True, "ib_bulletins": True, "ib_providers": ["BRFG", "DJNL"],
                 "ib_client_id": 23, "score_poll_seconds": 0.1},
    })
    fake.send_bulletin(1, "Trading in ES resumes after a <b>great</b> recovery", "CME")
    process = start_news(config, db, log)
    try:
        wait_for(lambda: fake.news_subscribers() == {"bulletins": 1, "BRFG": 1}, 30,
                 "the news subscriptions", process, log)
        assert fake.connected_client_ids() == [23]
        fake.send_news_tick("BRFG", "BRFG$0a1", "{A:800015:L:en:K:-0.97:C:0.99}Markets crash "
                            "in a brutal panic selloff", 1_741_012_200_000)
        fake.send_bulletin(2, "Trading in ES resumes after a great recovery!", "CME")
        rows = wait_for(lambda: [r for r in headlines(db) if r.score is not None]
                        if len(headlines(db)) >= 2 else None, 30, "two scored rows", process,
                        log)
        fake.drop_connections()  # the news connection comes back and IB re-sends bulletins
        wait_for(lambda: len(fake.requests("12")) >= 2 and fake.news_subscribers().get("BRFG"),
                 30, "the resubscription", process, log)
        fake.send_news_tick("BRFG", "BRFG$0a2", "Shares rise modestly", 1_741_012_260_000)
        wait_for(lambda: len(headlines(db)) >= 3 and headlines(db)[-1].score is not None, 30,
                 "the third headline", process, log)
    finally:
        code, _ = stop_bot(process)
    assert code == 0, log.read_text()[-3000:]
    rows = headlines(db)
    assert [(r.source, r.headline) for r in rows] == [
        ("ib:bulletin", "Trading in ES resumes after a great recovery"),
        ("ib:BRFG", "Markets crash in a brutal panic selloff"),
        ("ib:BRFG", "Shares rise modestly"),
    ]
    assert rows[0].score > 0 and rows[1].score < 0 and rows[2].score > 0
    assert {r.scorer for r in rows} == {"vader"}
    assert rows[1].link == "BRFG$0a1" and rows[1].published_at is not None
    problems = [e.message for e in events(db, "news_source")]
    assert any("ib:DJNL" in p and "10276" in p for p in problems), problems
    assert any("lost the IB news connection" in p for p in problems), problems


def test_the_news_program_exits_at_once_when_news_is_off(tmp_path):
    config = write_config(tmp_path, "c.yaml", {"news": {"enabled": False}})
    done = subprocess.run([sys.executable, "-m", "bot", "news", "--config", str(config), "--db",
                           str(tmp_path / "t.db")], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0 and "nothing to do" in done.stdout

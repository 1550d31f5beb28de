"""The watchdog against a real bot under a real supervisord: killed to FATAL, and frozen.

supervisord runs on a unix socket in a temp folder with one program, the paper bot; the
alerter runs beside it (``SUPERVISOR_URL`` names the socket) with a small staleness. A bot
killed -9 past supervisord's retries (``startretries=0``: the respawn killed while starting is
FATAL) and a bot frozen by SIGSTOP each reach the fake Telegram within 2 x the staleness, and
"recovered" follows the restart and the SIGCONT.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.persistence.db import connect, set_busy_timeout, write_transaction
from shared.supervisor import process_info, start_process
from tests.fakechat.server import FakeChatServer, Recorded
from tests.integration.botproc import REPO_ROOT, heartbeat, wait_for, write_config
from tests.integration.test_alerts_process import CHAT, TOKEN, alerter_ready

pytestmark = pytest.mark.integration
logger = logging.getLogger(__name__)

STALE_S = 4.0
SUPERVISORD = Path(sys.executable).parent / "supervisord"
FEED = {"source": "synthetic", "seed": 7, "start": "2025-03-03T14:30:00Z", "speed": 1}


def supervisord_conf(folder: Path, config: Path, db: Path) -> Path:
    """One program, the bot, restarted on a crash but given up at the first failed start."""
    conf = folder / "supervisord.conf"
    conf.write_text(f"""
[unix_http_server]
file={folder}/s.sock
chmod=0700

[supervisord]
logfile={folder}/supervisord.log
pidfile={folder}/supervisord.pid
directory={REPO_ROOT}
identifier=watchdog-test

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[program:bot]
command={sys.executable} -u -m bot run --config {config} --db {db}
directory={REPO_ROOT}
autostart=true
autorestart=unexpected
exitcodes=0,2,3
startsecs=2
startretries=0
stopsignal=TERM
stopwaitsecs=15
redirect_stderr=true
stdout_logfile={folder}/bot.log
""", encoding="utf-8")
    return conf


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A folder with a short path: a unix socket path must stay under ~100 bytes."""
    folder = Path(tempfile.mkdtemp(prefix="wd-", dir="/tmp"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items()
            if k not in ("TRADER_DB", "TRADER_CONFIG", "SUPERVISOR_URL")
            and not k.startswith("ALERT_")}


def telegram(fake: FakeChatServer, prefix: str) -> list[Recorded]:
    return [r for r in fake.sends() if r.body.get("chat_id") == CHAT
            and r.text.startswith(prefix)]


def kill_until_fatal(url: str, killed: dict[int, float]):
    """Kill -9 every new pid of the bot until supervisord gives up; the kill times by pid."""
    def probe():
        info = process_info("bot", url)
        if info.state == "FATAL":
            return info
        if info.pid and info.pid not in killed and info.state in ("STARTING", "RUNNING"):
            os.kill(info.pid, signal.SIGKILL)
            killed[info.pid] = time.monotonic()
        return None
    return probe


def writable(db: Path) -> bool:
    """Whether another connection can take the journal's write lock now."""
    conn = connect(db)
    try:
        set_busy_timeout(conn, 200)
        with write_transaction(conn):
            return True
    except sqlite3.OperationalError:
        return False
    finally:
        conn.close()


def freeze(pid: int, db: Path) -> float:
    """SIGSTOP the bot between two of its write transactions (a bot frozen while it holds the
    write lock would also hold the alerter's writes: another failure, not this test's); return
    the monotonic time of the freeze."""
    def stopped_unlocked() -> float | None:
        os.kill(pid, signal.SIGSTOP)
        stopped_at = time.monotonic()
        if writable(db):
            return stopped_at
        os.kill(pid, signal.SIGCONT)
        return None
    return wait_for(stopped_unlocked, 30, "a freeze outside a write transaction")


def test_a_bot_killed_to_fatal_and_a_frozen_bot_are_told_within_twice_the_staleness(
        tmp_path, short_dir):
    db, log = tmp_path / "t.db", tmp_path / "alerter.log"
    url = f"unix://{short_dir / 's.sock'}"
    with FakeChatServer() as fake:
        config = write_config(tmp_path, "c.yaml", {
            "feed": FEED, "engine": {"heartbeat_seconds": 0.2},
            "alerts": {"telegram_api_url": fake.url, "poll_seconds": 0.1,
                       "per_minute": {"telegram": 1000}, "bot_stale_seconds": STALE_S}})
        env = clean_env()
        supervisor = subprocess.Popen(
            [str(SUPERVISORD), "-n", "-c", str(supervisord_conf(short_dir, config, db))],
            cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        alerter = None
        frozen = 0
        try:
            bot = wait_for(lambda: (i := process_info("bot", url)).state == "RUNNING" and i,
                           60, "the bot RUNNING under supervisord", supervisor,
                           short_dir / "bot.log")
            wait_for(lambda: (h := heartbeat(db)) and h.pid == bot.pid, 60,
                     "the bot's heartbeat", supervisor, short_dir / "bot.log")
            with log.open("ab") as out:
                alerter = subprocess.Popen(
                    [sys.executable, "-m", "bot", "alerts", "--config", str(config), "--db",
                     str(db)], cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT,
                    env={**env, "PYTHONUNBUFFERED": "1", "SUPERVISOR_URL": url,
                         "ALERT_TELEGRAM_URL": f"tgram://{TOKEN}/{CHAT}"})
            wait_for(alerter_ready(db), 60, "the alerter", alerter, log)
            assert not telegram(fake, "BOT DOWN")  # a running bot raises nothing

            killed: dict[int, float] = {}
            wait_for(kill_until_fatal(url, killed), 60, "the bot FATAL", supervisor,
                     short_dir / "bot.log")
            last_kill = max(killed.values())
            [down] = wait_for(lambda: telegram(fake, "BOT DOWN"), 30, "the FATAL alert",
                              alerter, log)
            assert down.text.startswith("BOT DOWN: supervisord gave up restarting the bot "
                                        "(FATAL)")
            logger.info("FATAL told %.2f s after the last kill", down.at - last_kill)
            assert down.at - last_kill <= 2 * STALE_S, down.at - last_kill

            assert start_process("bot", wait=True, url=url) == "bot starting"
            restarted = process_info("bot", url)
            [recovered] = wait_for(lambda: telegram(fake, "Bot recovered"), 60,
                                   "the recovery after the restart", alerter, log)
            assert heartbeat(db).pid == restarted.pid

            frozen = restarted.pid
            stopped_at = freeze(frozen, db)
            downs = wait_for(lambda: len(found := telegram(fake, "BOT DOWN")) == 2 and found,
                             30, "the frozen bot's alert", alerter, log)
            assert "no heartbeat for" in downs[1].text and "frozen" in downs[1].text
            logger.info("freeze told %.2f s after SIGSTOP (staleness %.0f s)",
                        downs[1].at - stopped_at, STALE_S)
            assert downs[1].at - stopped_at <= 2 * STALE_S, downs[1].at - stopped_at
            assert process_info("bot", url).state == "RUNNING"  # supervisord saw nothing

            os.kill(frozen, signal.SIGCONT)
            frozen = 0
            recoveries = wait_for(lambda: len(found := telegram(fake, "Bot recovered")) == 2
                                  and found, 30, "the recovery after SIGCONT", alerter, log)
            assert recoveries[1].at > downs[1].at > recovered.at
            assert len(telegram(fake, "BOT DOWN")) == 2  # one alert per outage
        finally:
            if frozen:
                os.kill(frozen, signal.SIGCONT)
            if alerter is not None:
                alerter.send_signal(signal.SIGTERM)
                alerter.wait(timeout=30)
            supervisor.send_signal(signal.SIGTERM)
            supervisor.wait(timeout=60)

"""``python -m bot alerts`` as a real process beside a real accelerated paper bot.

The fake Telegram Bot API receives the entry and exit alerts of the bot's round trips with the
prices and P&L of the ``trades`` table, and the daily summary after the 16:00 CT close; Telegram
commands reach the bot through the ``commands`` table; a hanging channel stops neither process.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.alerts.messages import usd
from shared.persistence import alerts_store, journal_store, ops_store
from shared.persistence.journal_store import all_trades
from tests.fakechat.server import FakeChatServer
from tests.integration.botproc import (
    REPO_ROOT,
    heartbeat,
    query,
    start_bot,
    stop_bot,
    wait_for,
    write_config,
)

pytestmark = pytest.mark.integration

TOKEN = "987654321:ZYXwvuTSRqpoNMLkji"
CHAT = 5555
FAST_FEED = {"source": "synthetic", "seed": 7, "start": "2025-03-03T14:30:00Z", "speed": 2000}
LATE_FEED = {**FAST_FEED, "start": "2025-03-03T19:30:00Z"}  # 13:30 CT
SESSION_BARS = 1800  # from there to the 16:00 CT (22:00Z) close in 5-second bars
ACTIVE_RISK = {"max_hold_minutes": 10, "max_trades_per_day": 40, "cooldown_after_loss_minutes": 1}


def start_alerter(config: Path, db: Path, log: Path, extra_env: dict[str, str]
                  ) -> subprocess.Popen[bytes]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("ALERT_")}
    env.update({"PYTHONUNBUFFERED": "1", "ALERT_TELEGRAM_URL": f"tgram://{TOKEN}/{CHAT}",
                **extra_env})
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "bot", "alerts", "--config", str(config), "--db", str(db)],
            cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def alerter_ready(db: Path):
    return lambda: query(db, alerts_store.channel_statuses)


def alerts_config(fake: FakeChatServer, **extra) -> dict:
    return {"telegram_api_url": fake.url, "poll_seconds": 0.1,
            "per_minute": {"telegram": 1000}, "telegram": {"stop_moved": "off"}, **extra}


def headlines(fake: FakeChatServer) -> list[str]:
    return [r.text.split("\n")[0] for r in fake.sends() if r.body.get("chat_id") == CHAT]


def test_the_bot_s_round_trips_and_daily_summary_reach_telegram_with_the_journal_s_figures(
        tmp_path):
    db, log = tmp_path / "t.db", tmp_path / "processes.log"
    with FakeChatServer() as fake:
        config = write_config(tmp_path, "c.yaml", {  # past the 16:00 CT close, then stop
            "feed": {**LATE_FEED, "max_bars": SESSION_BARS + 60}, "risk": ACTIVE_RISK,
            "engine": {"heartbeat_seconds": 0.2}, "alerts": alerts_config(fake)})
        alerter = start_alerter(config, db, log, {})
        try:
            wait_for(alerter_ready(db), 30, "the alerter", alerter, log)
            bot = start_bot(config, db, log)
            assert bot.wait(timeout=180) == 0
            summary = wait_for(
                lambda: [h for h in headlines(fake) if h.startswith("Daily summary")], 30,
                "the daily summary", alerter, log)
            trades = query(db, all_trades)
            wait_for(lambda: len([h for h in headlines(fake) if h.startswith("EXIT")])
                     >= len(trades), 30, "an exit alert per trade", alerter, log)
        finally:
            code, _ = stop_bot(alerter)
        assert code == 0
        sent = headlines(fake)
        entries = [h for h in sent if h.startswith("ENTRY")]
        exits = [h for h in sent if h.startswith("EXIT")]
        assert trades and len(exits) == len(trades)  # each round trip once, none twice
        for trade in trades:
            assert (f"ENTRY {trade.side.value.upper()} {trade.contracts} MES @ "
                    f"{trade.entry_price:.2f}") in entries
            assert (f"EXIT {trade.side.value.upper()} {trade.contracts} MES @ "
                    f"{trade.exit_price:.2f} ({trade.exit_reason.value}) · P&L "
                    f"{usd(trade.pnl_net_cents)}") in exits
        assert sent.index(entries[0]) < sent.index(exits[0])
        day_trades = [t for t in trades if t.exit_ts.isoformat() < "2025-03-03T22:00"]
        [summary_text] = [r.text for r in fake.sends() if r.text.startswith("Daily summary")]
        assert summary == ["Daily summary MES 2025-03-03"]
        assert f"Trades {len(day_trades)}: " in summary_text
        assert f"Net P&L {usd(sum(t.pnl_net_cents for t in day_trades))} " in summary_text


def test_telegram_commands_reach_the_bot_only_from_allowed_chats(tmp_path):
    db, log = tmp_path / "t.db", tmp_path / "processes.log"
    with FakeChatServer() as fake:
        config = write_config(tmp_path, "c.yaml", {
            "feed": {**FAST_FEED, "speed": 1}, "engine": {"heartbeat_seconds": 0.2,
                                                          "commands_poll_seconds": 0.1},
            "alerts": alerts_config(fake, telegram_commands=True)})
        bot = start_bot(config, db, log)
        alerter = start_alerter(config, db, log, {"ALERT_TELEGRAM_COMMAND_CHATS": "4242"})
        try:
            wait_for(lambda: heartbeat(db), 30, "the bot's heartbeat", bot, log)
            wait_for(alerter_ready(db), 30, "the alerter", alerter, log)
            fake.send_update(666, "/halt")
            fake.send_update(4242, "/flatten")
            fake.send_update(4242, "/status")  # disarms the flatten
            fake.send_update(4242, "/confirm")
            fake.send_update(4242, "/halt")
            wait_for(lambda: (h := heartbeat(db)) and h.halted, 30, "the halt", bot, log)
            replies = wait_for(
                lambda: (found := [r.text for r in fake.sends() if r.body["chat_id"] == 4242])
                and any(" halt done: " in text for text in found) and found,
                30, "the halt's outcome", alerter, log)
        finally:
            stop_bot(bot)
            code, _ = stop_bot(alerter)
        assert code == 0
        commands = query(db, lambda c: [dict(r) for r in c.execute(
            "SELECT kind, status, author, result FROM commands ORDER BY id")])
        assert [(c["kind"], c["status"], c["author"]) for c in commands] == [
            ("status", "done", "telegram:4242"), ("halt", "done", "telegram:4242")]
        assert "refused '/halt' from chat 666" in log.read_text()  # dropped, logged, no row
        assert not [r for r in fake.sends() if r.body.get("chat_id") == 666]  # no answer
        assert replies[0].startswith("Flatten all (kill switch)")
        assert replies[1].startswith("Bot running · paper MES")
        assert replies[2].startswith("Nothing to confirm")
        assert replies[3].startswith("halt queued as command #")
        assert "halt done: entries halted: halted from Telegram (chat 4242)" in replies[4]
        assert query(db, ops_store.read_bot_state).position_contracts == 0


def test_a_hanging_channel_while_the_bot_trades_stops_neither_process(tmp_path):
    db, log = tmp_path / "t.db", tmp_path / "processes.log"
    with FakeChatServer() as fake:
        fake.hang = True
        config = write_config(tmp_path, "c.yaml", {
            "feed": {**FAST_FEED, "max_bars": 1200}, "risk": ACTIVE_RISK,
            "engine": {"heartbeat_seconds": 0.2},
            "alerts": alerts_config(fake, send_timeout_s=120)})
        alerter = start_alerter(config, db, log, {})
        try:
            wait_for(alerter_ready(db), 30, "the alerter", alerter, log)
            bot = start_bot(config, db, log)
            assert bot.wait(timeout=120) == 0  # it played all its bars meanwhile
            assert len(query(db, all_trades)) >= 2
            wait_for(lambda: fake.held, 10, "a Telegram request hanging")
            # the alerter reads the journal on its own period: let it reach the last fill
            wait_for(lambda: _entry_alerts(db) >= _filled_entries(db), 30,
                     "the alerter to queue every filled entry", alerter, log)
        finally:
            code, seconds = stop_bot(alerter, timeout_s=15)
        assert code == 0 and seconds < 10
        deliveries = query(db, alerts_store.recent_deliveries, 1000)
        assert {d.status for d in deliveries} == {"queued"}  # kept for the next start
        entries = [o for o in query(db, journal_store.all_orders) if o.role.value == "entry"]
        assert len([d for d in deliveries if d.kind == "entry"]) == len(
            [o for o in entries if o.status.value == "filled"])


def _entry_alerts(db) -> int:
    return sum(d.kind == "entry" for d in query(db, alerts_store.recent_deliveries, 1000))


def _filled_entries(db) -> int:
    return sum(o.role.value == "entry" and o.status.value == "filled"
               for o in query(db, journal_store.all_orders))

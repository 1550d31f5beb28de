"""The alerter's watchdog pass on a real journal, with no supervisord (an unreachable socket):
the heartbeat alone decides; the LLM streak and equity swings come from real rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.alerts.health import HealthWatch
from shared.config.settings import parse_config_text
from shared.domain.alerts import AlertKind
from shared.persistence import llm_store, ops_store
from shared.persistence.db import write_transaction

T0 = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
SETTINGS = parse_config_text("alerts:\n  bot_stale_seconds: 30\n  pnl_swing_usd: 500\n"
                             "  pnl_swing_minutes: 10\n  llm_outage_minutes: 15\n")


def beat(conn, second: float, equity_cents: int, status: str = "running") -> None:
    with write_transaction(conn):
        ops_store.upsert_bot_state(conn, ops_store.Heartbeat(
            T0 + timedelta(seconds=second), "paper", "MES", status, pid=4321,
            equity_cents=equity_cents))


def failed_call(conn, second: float) -> None:
    at = T0 + timedelta(seconds=second)
    request = llm_store.CallRequest(at, at.date().isoformat(), "manual", "{}", None, "bedrock",
                                    "m", "v1", "hash", "system", "prompt")
    with write_transaction(conn):
        llm_store.log_discarded_call(conn, request, "timeout", "read timed out")


def test_the_watch_raises_swing_llm_outage_bot_down_and_recovery_from_the_journal(conn,
                                                                                   tmp_path):
    clock = [T0]
    watch = HealthWatch(conn, lambda: clock[0],
                        {"SUPERVISOR_URL": f"unix://{tmp_path / 'no-supervisord.sock'}"})

    def poll_at(second: float) -> list[str]:
        clock[0] = T0 + timedelta(seconds=second)
        return [alert.kind for alert in watch.poll(SETTINGS)]

    beat(conn, 0, 2_500_000)
    assert poll_at(1) == []  # up, and a first "up" is not told
    failed_call(conn, 2)
    beat(conn, 60, 2_470_000)
    assert poll_at(61) == []
    beat(conn, 120, 2_449_000)  # -$510 within 2 minutes
    assert poll_at(121) == [AlertKind.PNL_SWING]
    beat(conn, 180, 2_449_000)
    assert poll_at(181) == []
    assert poll_at(215) == [AlertKind.BOT_DOWN]  # 35 s without a beat
    assert poll_at(2 + 15 * 60) == [AlertKind.LLM_UNAVAILABLE]
    beat(conn, 2 + 15 * 60 + 1, 2_449_000)
    assert poll_at(2 + 15 * 60 + 2) == [AlertKind.BOT_RECOVERED]
    beat(conn, 2 + 15 * 60 + 3, 2_449_000, status="stopped")  # a clean stop
    assert poll_at(3600) == []

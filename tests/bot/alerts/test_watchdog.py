"""The watchdog's pure judgement and state machine: one alert per outage, one recovery."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.alerts.watch_messages import bot_alert
from bot.alerts.watchdog import (
    EXITED_CONFIRM_S,
    BotObservation,
    Change,
    Health,
    WatchState,
    judge,
    stale_after_s,
    step,
)
from shared.domain.alerts import AlertKind

T0 = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
STALE_S = 30.0
PID = 4321


def seen(at_s: float, state: str = "RUNNING", beat_s: float | None = 0.0,
         status: str = "running", beat_pid: int | None = PID, exit_status: int = 0,
         started_s: float = -600) -> BotObservation:
    """An observation ``at_s`` seconds after T0 with the last beat at ``beat_s``."""
    return BotObservation(T0 + timedelta(seconds=at_s), state, PID, exit_status,
                          T0 + timedelta(seconds=started_s),
                          None if beat_s is None else T0 + timedelta(seconds=beat_s), status,
                          beat_pid)


def run(observations: list[BotObservation]) -> list[tuple[Change, str]]:
    state, told = WatchState(), []
    for obs in observations:
        state, change = step(state, judge(obs, STALE_S), obs.now)
        if change is not None:
            told.append((change.change, change.reason))
    return told


def test_a_fresh_heartbeat_of_the_supervised_process_is_up_and_a_first_up_is_not_told():
    assert judge(seen(5), STALE_S).health is Health.UP
    assert run([seen(1), seen(2, beat_s=2)]) == []


def test_fatal_is_down_at_once_and_told_once_however_long_it_lasts():
    told = run([seen(1), seen(2, "FATAL", exit_status=-1), seen(60, "FATAL"), seen(600, "FATAL")])
    assert [change for change, _ in told] == [Change.DOWN]
    assert "FATAL" in told[0][1]


def test_a_frozen_process_goes_down_only_past_the_staleness_and_recovers_on_a_fresh_beat():
    told = run([seen(1), seen(STALE_S - 1), seen(STALE_S + 1), seen(STALE_S + 5),
                seen(STALE_S + 6, beat_s=STALE_S + 6)])
    assert [change for change, _ in told] == [Change.DOWN, Change.RECOVERED]
    assert "frozen" in told[0][1] and "no heartbeat for 31 s" in told[0][1]


def test_an_unexpected_exit_must_persist_before_it_is_told():
    blip = [seen(1), seen(2, "EXITED", exit_status=-1), seen(2.5, "STARTING"), seen(3)]
    assert run(blip) == []  # supervisord restarted the crash at once: nothing to tell
    kept = [seen(1), seen(2, "EXITED", exit_status=1),
            seen(2 + EXITED_CONFIRM_S / 2, "EXITED", exit_status=1),
            seen(2 + EXITED_CONFIRM_S, "EXITED", exit_status=1)]
    told = run(kept)
    assert [change for change, _ in told] == [Change.DOWN]
    assert "exit status 1" in told[0][1]


def test_stopped_on_purpose_or_a_clean_exit_says_nothing():
    assert judge(seen(100, "STOPPED", beat_s=0, status="stopped"), STALE_S).health is Health.UNKNOWN
    assert judge(seen(100, "EXITED", exit_status=0), STALE_S).health is Health.UNKNOWN
    assert run([seen(1), seen(100, "STOPPED", status="stopped"), seen(900, "STOPPED")]) == []


def test_a_restarted_process_is_up_only_on_its_own_heartbeat():
    old_beat = seen(10, beat_s=5, beat_pid=999, started_s=8)  # the dead bot's beat is fresh
    assert judge(old_beat, STALE_S).health is Health.UNKNOWN
    silent = seen(60, beat_s=5, beat_pid=999, started_s=8)
    verdict = judge(silent, STALE_S)
    assert verdict.health is Health.DOWN and "no heartbeat in 52 s" in verdict.reason
    told = run([seen(1), seen(2, "FATAL"), seen(10, beat_s=1, beat_pid=999, started_s=8),
                seen(12, beat_s=12, started_s=8)])
    assert [change for change, _ in told] == [Change.DOWN, Change.RECOVERED]


def test_without_supervisord_the_heartbeat_alone_decides():
    assert judge(seen(5, "UNKNOWN", beat_pid=1), STALE_S).health is Health.UP
    assert judge(seen(40, "UNKNOWN", beat_pid=1), STALE_S).health is Health.DOWN
    assert judge(seen(40, "UNKNOWN", status="stopped"), STALE_S).health is Health.UNKNOWN
    assert judge(seen(40, "UNKNOWN", beat_s=None), STALE_S).health is Health.UNKNOWN
    assert judge(seen(40, "UNKNOWN", status="refused"), STALE_S).health is Health.DOWN


def test_the_down_and_recovered_alerts_share_the_outage_s_start_as_their_key():
    state, down = step(WatchState(Health.UP), judge(seen(2, "FATAL", beat_s=1), STALE_S),
                       T0 + timedelta(seconds=2))
    assert down is not None
    _, recovered = step(state, judge(seen(50, beat_s=50, started_s=40), STALE_S),
                        T0 + timedelta(seconds=50))
    assert recovered is not None
    down_alert, up_alert = bot_alert(down, "bot"), bot_alert(recovered, "bot")
    assert down_alert.kind == AlertKind.BOT_DOWN and up_alert.kind == AlertKind.BOT_RECOVERED
    assert down_alert.key.removeprefix("bot_down:") == up_alert.key.removeprefix("bot_recovered:")
    assert down_alert.headline == "BOT DOWN: supervisord gave up restarting the bot (FATAL)"
    assert up_alert.headline == "Bot recovered: heartbeat fresh again after 49 s"


@pytest.mark.parametrize(("bars", "seconds", "bar_s", "beat_s", "expected"), [
    (6, 0, 5, 5, 30), (6, 0, 60, 5, 360), (6, 12, 5, 5, 12), (1, 0, 5, 5, 10), (6, 2, 5, 0.2, 2)])
def test_staleness_is_bar_lengths_or_seconds_never_under_two_beats(bars, seconds, bar_s, beat_s,
                                                                   expected):
    assert stale_after_s(bars, seconds, bar_s, beat_s) == expected


def test_an_outage_of_a_bot_stopped_on_purpose_before_begins_at_its_failed_start():
    beat_last_week = seen(7 * 86_400, "FATAL", beat_s=0, status="stopped",
                          started_s=7 * 86_400 - 3)
    assert judge(beat_last_week, STALE_S).since == T0 + timedelta(seconds=7 * 86_400 - 3)
    assert judge(seen(100, "FATAL", beat_s=90), STALE_S).since == T0 + timedelta(seconds=90)

"""The password gate's rate limit: free failures, a doubling delay, a lockout, a global ceiling."""

from __future__ import annotations

import pytest

from dashboard.login_limiter import ALL_CLIENTS, LoginLimiter, LoginPolicy

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_delay_doubles_after_the_free_failures_and_waiting_it_out_allows_a_try():
    clock = Clock()
    limiter = LoginLimiter(LoginPolicy(free_failures=2, base_delay_s=1, max_delay_s=4,
                                       lockout_failures=50), clock)
    limiter.failed("a")
    limiter.failed("a")
    assert limiter.refusal("a") is None  # two mistypes cost nothing
    waits = []
    for _ in range(4):
        limiter.failed("a")
        refusal = limiter.refusal("a")
        assert refusal is not None and not refusal.locked
        waits.append(refusal.message)
        clock.now += 30  # waited it out
        assert limiter.refusal("a") is None
    assert [w.split("wait ")[1].split(" before")[0] for w in waits] == ["1 s", "2 s", "4 s",
                                                                        "4 s"]
    assert limiter.refusal("b") is None  # another client is not slowed


def test_a_lockout_refuses_everything_until_it_ends_then_a_success_clears_the_count():
    clock = Clock()
    limiter = LoginLimiter(LoginPolicy(lockout_failures=5, lockout_minutes=15), clock)
    started = [lockout for _ in range(5) for lockout in limiter.failed("a")]
    assert [(s.client, s.failures, s.lockout_s) for s in started] == [("a", 5, 900.0)]
    refusal = limiter.refusal("a")
    assert refusal is not None and refusal.locked and "15 min" in refusal.message
    clock.now += 899
    assert limiter.refusal("a").locked
    clock.now += 2
    assert limiter.refusal("a") is None
    limiter.succeeded("a")
    limiter.failed("a")
    assert limiter.refusal("a") is None


def test_failures_from_many_addresses_lock_every_client_out():
    clock = Clock()
    limiter = LoginLimiter(LoginPolicy(lockout_failures=10, global_lockout_failures=30), clock)
    started = [lockout for n in range(30) for lockout in limiter.failed(f"10.0.0.{n}")]
    assert [s.client for s in started] == [ALL_CLIENTS]
    assert limiter.refusal("192.168.1.1").locked


def test_failures_older_than_the_window_are_forgotten():
    clock = Clock()
    limiter = LoginLimiter(LoginPolicy(lockout_failures=3, window_minutes=1), clock)
    limiter.failed("a")
    limiter.failed("a")
    clock.now += 61
    assert limiter.failed("a") == []
    assert limiter.refusal("a") is None


def test_clients_with_nothing_recent_are_forgotten():
    clock = Clock()
    limiter = LoginLimiter(LoginPolicy(window_minutes=1), clock)
    for n in range(50):
        assert limiter.refusal(f"10.0.0.{n}") is None  # a scan that never fails leaves no row
    limiter.failed("a")
    clock.now += 61
    limiter.refusal("a")
    assert limiter._records == {}

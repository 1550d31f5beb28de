"""Rate limit, backoff and splitting: the pure pacing rules of a channel."""

from __future__ import annotations

import pytest

from bot.alerts.pacing import TRUNCATED, RateLimiter, backoff_s, sent_length_telegram, split_text


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_limiter_allows_n_per_sliding_minute_then_waits_for_the_oldest_to_age_out():
    clock = FakeClock()
    limiter = RateLimiter(3, clock)
    for offset in (0.0, 10.0, 20.0):
        clock.now = 1000.0 + offset
        assert limiter.wait_s() == 0.0
        limiter.record()
    clock.now = 1030.0
    assert limiter.wait_s() == pytest.approx(30.0)  # the first send leaves the window at 1060
    clock.now = 1060.0
    assert limiter.wait_s() == 0.0
    limiter.record()
    assert limiter.wait_s() == pytest.approx(10.0)  # now the one at 1010 is the oldest


def test_telegram_pace_is_twenty_a_minute():
    clock = FakeClock()
    limiter = RateLimiter(20, clock)
    sent = 0
    while limiter.wait_s() == 0.0:
        limiter.record()
        sent += 1
    assert sent == 20


def test_backoff_doubles_from_the_initial_wait_up_to_the_cap():
    assert [backoff_s(n, 2.0, 10.0) for n in (1, 2, 3, 4, 5)] == [2.0, 4.0, 8.0, 10.0, 10.0]


def test_a_short_text_is_one_part():
    assert split_text("hello", 4096) == ["hello"]


def test_a_long_text_is_cut_at_line_breaks_into_numbered_parts_within_the_limit():
    lines = [f"line {i:04d} " + "x" * 60 for i in range(200)]
    text = "\n".join(lines)
    parts = split_text(text, 4096)
    assert len(parts) == 4
    assert all(len(part) <= 4096 for part in parts)
    assert [p.split(" ", 1)[0] for p in parts[1:]] == ["(2/4)", "(3/4)", "(4/4)"]
    rebuilt = "\n".join([parts[0], *(p.split(" ", 1)[1] for p in parts[1:])])
    assert rebuilt == text  # nothing lost, cuts fell on line breaks


def test_a_text_without_line_breaks_is_cut_hard():
    parts = split_text("y" * 10_000, 4096)
    assert all(len(part) <= 4096 for part in parts)
    assert "".join([parts[0], *(p.split(" ", 1)[1] for p in parts[1:])]) == "y" * 10_000


def test_a_huge_text_is_truncated_to_the_part_limit_and_says_so():
    parts = split_text("z" * 1_000_000, 4096, max_parts=5)
    assert len(parts) == 5 and all(len(part) <= 4096 for part in parts)
    assert parts[-1].endswith(TRUNCATED)


def test_telegram_parts_are_measured_as_apprise_sends_them():
    text = "\n".join("P&L <" + "x" * 40 for _ in range(400))  # escaping and CRLF grow it
    parts = split_text(text, 4096, measure=sent_length_telegram)
    assert len(parts) > 1
    assert all(sent_length_telegram(part) <= 4096 for part in parts)

"""The bot log's tail: a bounded read from the end, hostile and binary bytes made inert, and
the level filter (a traceback keeps its record's level)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dashboard import log_tail
from dashboard.log_tail import Level

pytestmark = pytest.mark.unit

RECORDS = [
    b"2025-03-03 14:30:00,001 INFO bot.runtime.live: started paper run\n",
    b"2025-03-03 14:31:00,002 WARNING bot.risk: loss streak 2\n",
    b"2025-03-03 14:32:00,003 ERROR bot.runtime.live: broker call failed\n",
    b"Traceback (most recent call last):\n",
    b'  File "x.py", line 1, in <module>\n',
    b"ValueError: boom\n",
    b"2025-03-03 14:33:00,004 INFO bot.llm: <script>alert(1)</script> ![x](http://evil/b.png)\n",
    b"2025-03-03 14:34:00,005 DEBUG bot.core: \x1b[31mred\x1b[0m \x00\x07bell \xff\xfe raw\n",
    b"2025-03-03 14:35:00,006 CRITICAL bot: halted\n",
]


@pytest.fixture
def log(tmp_path: Path) -> Path:
    path = tmp_path / "bot.log"
    path.write_bytes(b"".join(RECORDS))
    return path


def test_the_whole_small_file_is_read_and_binary_bytes_become_visible_text(log):
    tail = log_tail.read_tail(log)
    assert len(tail.lines) == len(RECORDS) and not tail.truncated
    debug = tail.lines[7]
    assert "\x1b" not in debug and "\x00" not in debug and "\x07" not in debug
    assert "?red?" in debug and "\ufffd\ufffd raw" in debug
    assert all(ch == "\t" or ch >= " " for line in tail.lines for ch in line)
    # markup stays literal text (the page shows it with st.code, never as markdown or HTML)
    assert "<script>alert(1)</script> ![x](http://evil/b.png)" in tail.lines[6]


def test_only_the_last_bytes_are_read_and_the_cut_line_dropped(log):
    size = log.stat().st_size
    last_two = len(RECORDS[-1]) + len(RECORDS[-2])
    tail = log_tail.read_tail(log, max_bytes=last_two + 5)
    assert tail.bytes_read == last_two + 5 and tail.file_bytes == size and tail.truncated
    assert len(tail.lines) == 2 and tail.lines[-1].endswith("CRITICAL bot: halted")


def test_a_big_file_costs_a_bounded_read(tmp_path):
    path = tmp_path / "big.log"
    line = b"2025-03-03 14:30:00,001 INFO bot: " + b"x" * 90 + b"\n"
    path.write_bytes(line * 50_000)  # ~6 MB
    tail = log_tail.read_tail(path, max_bytes=64 * 1024)
    assert tail.bytes_read == 64 * 1024 and tail.file_bytes == len(line) * 50_000
    assert log_tail.filtered(tail, Level.INFO, 10) == [line.decode().rstrip("\n")] * 10


@pytest.mark.parametrize(("minimum", "expected"), [
    (Level.INFO, 8),     # everything but the DEBUG line
    (Level.WARNING, 6),  # warning, the error and its three traceback lines, critical
    (Level.ERROR, 5),
])
def test_the_level_filter_keeps_the_level_and_above_with_tracebacks(log, minimum, expected):
    lines = log_tail.filtered(log_tail.read_tail(log), minimum, 100)
    assert len(lines) == expected
    if minimum == Level.ERROR:
        assert lines[0].endswith("broker call failed") and lines[3] == "ValueError: boom"
        assert lines[-1].endswith("halted")


def test_the_line_count_keeps_the_newest(log):
    lines = log_tail.filtered(log_tail.read_tail(log), Level.INFO, 2)
    assert lines[0].startswith("2025-03-03 14:33") and lines[1].endswith("halted")


def test_a_missing_log_says_so(tmp_path):
    tail = log_tail.read_tail(tmp_path / "nope.log")
    assert tail.lines == () and "No log at" in tail.problem


def test_the_log_path_comes_from_supervisord_conf_or_the_environment(tmp_path):
    conf = tmp_path / "supervisord.conf"
    conf.write_text("[supervisord]\nlogfile=%(here)s/var/log/supervisord.log\n"
                    "[program:bot]\nstdout_logfile=%(here)s/var/log/bot.log\n")
    assert log_tail.bot_log_path({}, conf) == tmp_path / "var" / "log" / "bot.log"
    assert log_tail.bot_log_path({"TRADER_BOT_LOG": "/tmp/x.log"}, conf) == Path("/tmp/x.log")
    real = log_tail.bot_log_path({})
    assert real == log_tail.REPO_ROOT / "var" / "log" / "bot.log"

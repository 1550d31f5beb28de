"""The tail of the bot's log for the Bot control page, read safely.

Only the last ``max_bytes`` of the file are read (a 20 MB log costs one seek and a bounded
read); bytes that are not UTF-8 become U+FFFD and control characters (ANSI colour codes, NULs,
a terminal's escape sequences) are replaced by a visible ``?``, so what the page shows is text
and nothing else. The page shows it with ``st.code`` (never parsed as markdown or HTML).

A line's level is the ``levelname`` of the bot's log format (``%(asctime)s %(levelname)s
%(name)s: %(message)s``); a line without one (a traceback's continuation) keeps the level of
the record above it.
"""

from __future__ import annotations

import configparser
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
LOG_ENV = "TRADER_BOT_LOG"  # overrides the path supervisord.conf gives the bot's log
DEFAULT_MAX_BYTES = 256 * 1024
LINE_CHOICES = (50, 200, 500, 1000)
_LEVEL = re.compile(r"^\S+ \S+ (DEBUG|INFO|WARNING|ERROR|CRITICAL) ")
_CONTROL = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|[\x00-\x08\x0b-\x1f\x7f-\x9f]")


class Level(IntEnum):
    """Log levels in stdlib order; the filter shows a level and everything above it."""

    DEBUG = 10
    INFO = 20
    WARNING = 30
    ERROR = 40
    CRITICAL = 50


FILTER_LEVELS = (Level.INFO, Level.WARNING, Level.ERROR)


@dataclass(frozen=True, slots=True)
class LogTail:
    """The shown lines, how many bytes were read of how many, or why nothing could be read."""

    lines: tuple[str, ...]
    bytes_read: int
    file_bytes: int
    problem: str | None = None

    @property
    def truncated(self) -> bool:
        """True when the file holds more than was read."""
        return self.bytes_read < self.file_bytes


def bot_log_path(env: Mapping[str, str] = os.environ,
                 conf_path: Path = REPO_ROOT / "supervisord.conf") -> Path:
    """The bot's log: ``TRADER_BOT_LOG``, else ``[program:bot] stdout_logfile`` of
    supervisord.conf (``%(here)s`` is the conf's folder), else ``var/log/bot.log``."""
    if env.get(LOG_ENV):
        return Path(env[LOG_ENV]).expanduser()
    here = conf_path.parent
    parser = configparser.RawConfigParser(strict=False)
    try:
        parser.read(conf_path, encoding="utf-8")
        text = parser.get("program:bot", "stdout_logfile")
    except (configparser.Error, OSError):
        return here / "var" / "log" / "bot.log"
    return Path(text.replace("%(here)s", str(here))).expanduser()


def clean(line: str) -> str:
    """``line`` with control characters and terminal escapes replaced by ``?``."""
    return _CONTROL.sub("?", line.rstrip("\r"))


def read_tail(path: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> LogTail:
    """The complete lines within the last ``max_bytes`` of ``path``, cleaned (a partial first
    line is dropped unless the read starts at the file's beginning)."""
    try:
        with path.open("rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            start = max(0, size - max_bytes)
            handle.seek(start)
            data = handle.read(size - start)
    except FileNotFoundError:
        return LogTail((), 0, 0, f"No log at {path} yet (the bot has not run under supervisord)")
    except OSError as exc:
        return LogTail((), 0, 0, f"Cannot read {path}: {exc.strerror or exc}")
    lines = data.decode("utf-8", errors="replace").split("\n")
    if start > 0 and lines:
        lines = lines[1:]
    if lines and lines[-1] == "":
        lines = lines[:-1]
    return LogTail(tuple(clean(line) for line in lines), len(data), size)


def line_levels(lines: tuple[str, ...]) -> list[Level]:
    """Each line's level; continuation lines take the level of the record above (INFO before
    the first record)."""
    levels, current = [], Level.INFO
    for line in lines:
        match = _LEVEL.match(line)
        if match:
            current = Level[match.group(1)]
        levels.append(current)
    return levels


def filtered(tail: LogTail, minimum: Level, max_lines: int) -> list[str]:
    """The last ``max_lines`` lines at ``minimum`` or above."""
    kept = [line for line, level in zip(tail.lines, line_levels(tail.lines), strict=True)
            if level >= minimum]
    return kept[-max_lines:] if max_lines > 0 else []

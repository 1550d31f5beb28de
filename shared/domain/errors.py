"""The project's few exception classes; each docstring says what the loop does with it."""

from __future__ import annotations


class ConfigError(Exception):
    """A config is invalid. At start the bot exits with code 2; a running bot keeps the old one."""


class CommandRejected(Exception):
    """A dashboard command cannot run now: it is marked failed with this message alone (the
    user's answer, e.g. "no decision yet"), logged without a traceback; the loop goes on."""
class ConfigFileError(ConfigError):
    """The config file itself is unusable (missing, unreadable, not text, empty); names the file."""


class TemporaryError(Exception):
    """A dependency is briefly unavailable: retry with backoff, keep trading state as it is."""


class BrokerError(Exception):
    """The broker refused or failed an order: record it as an incident and carry on."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"broker error {code}: {message}")
        self.code = code
        self.message = message


class BadBarError(ValueError):
    """A bar row is malformed: it is skipped and counted, never fed to the engine."""


class DataFileError(BadBarError):
    """A bar file cannot be used at all (missing, not text, empty, wrong columns, no good row).

    The live bot and the backtester both refuse to start with exit code 2 and this one line.
    """

    MAX_REASON = 300

    def __init__(self, path: object, reason: str, line: int | None = None) -> None:
        where = f"{path} line {line}" if line is not None else f"{path}"
        shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in reason)
        if len(shown) > self.MAX_REASON:
            shown = shown[: self.MAX_REASON] + "..."
        super().__init__(f"{where}: {shown}")  # one line, whatever bytes the file held
        self.path = str(path)
        self.reason = shown
        self.line = line


class FatalError(Exception):
    """Trading must stop: leave the brackets working and exit non-zero so supervisord restarts."""


class BadNewsFileError(ValueError):
    """A headline CSV is malformed: the run refuses it, naming the file and the line."""

"""The project's few exception classes; each docstring says what the loop does with it."""

from __future__ import annotations


class ConfigError(Exception):
    """A config is invalid. At start the bot exits with code 2; a running bot keeps the old one."""


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


class FatalError(Exception):
    """Trading must stop: leave the brackets working and exit non-zero so supervisord restarts."""


class BadNewsFileError(ValueError):
    """A headline CSV is malformed: the run refuses it, naming the file and the line."""

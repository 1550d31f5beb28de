"""Channels from the environment: Apprise URLs parsed once, shown masked, secrets redacted.

``ALERT_TELEGRAM_URL`` (``tgram://BOT_TOKEN/CHAT_ID``), ``ALERT_SLACK_URL`` (``slack://A/B/C``
or the ``https://hooks.slack.com/services/...`` webhook) and ``ALERT_EMAIL_URL``
(``mailto://`` / ``mailtos://``) each configure one channel. The URLs never reach the config,
the database or a log line: the page sees ``mask_url``, error texts pass through ``Redactor``.
Apprise's own logger is detached (its debug lines print the Bot API URL with the token); its
warnings are captured per thread to become the attempt's error.

Apprise sends Telegram to api.telegram.org and Slack webhooks to hooks.slack.com; the plugin
instances read those bases from ``notify_url`` / ``webhook_url`` at send time, so
``alerts.telegram_api_url`` (a self-hosted Bot API server, or a local stand-in in tests) and
``alerts.slack_webhook_url`` are set on the instance.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import apprise
from apprise import NotifyFormat, NotifyType
from apprise.plugins.slack import NotifySlack
from apprise.plugins.telegram import NotifyTelegram

from shared.config.settings import AlertsConfig
from shared.domain.alerts import Channel

logger = logging.getLogger(__name__)
_SECRET_MIN_CHARS = 3


class Transport(Protocol):
    """Sends one message part; returns (delivered, error text already redacted)."""

    def send(self, text: str, title: str, silent: bool) -> tuple[bool, str]: ...


def mask_url(url: str) -> str:
    """``tgram://12***/-1***``: the scheme, host names with a dot, 2 chars of anything else."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return "***"
    rest, query_sep, _ = rest.partition("?")
    shown = []
    for segment in rest.split("/"):
        user, at, host = segment.rpartition("@")
        if at:
            shown.append(f"{user[:2]}***@{host}")
        elif "." in segment and ":" not in segment and not segment[:1].isdigit():
            shown.append(segment)  # a host name (smtp.example.com, hooks.slack.com)
        elif segment:
            shown.append(f"{segment[:2]}***")
        else:
            shown.append("")
    return f"{scheme}://{'/'.join(shown)}" + ("?…" if query_sep else "")


class Redactor:
    """Replaces every secret-looking fragment of a channel URL in a text with ``***``."""

    def __init__(self, url: str) -> None:
        fragments = set()
        for part in re.split(r"[/?&=@:]+", url.partition("://")[2]):
            if len(part) >= _SECRET_MIN_CHARS and "." not in part:
                fragments.add(part)
        token = re.search(r"://([^/?.@]+)(?:[/?]|$)", url)
        if token:
            fragments.add(token.group(1))  # a Telegram bot token keeps its colon
        password = re.search(r"://[^/@:]*:([^@/]+)@", url)
        if password:
            fragments.add(password.group(1))
        self._fragments = sorted(fragments, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for fragment in self._fragments:
            text = text.replace(fragment, "***")
        return text


class _ThreadWarnings(logging.Handler):
    """Keeps Apprise's warnings per thread, so each sender reads only its own."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self._local = threading.local()

    def emit(self, record: logging.LogRecord) -> None:
        messages = getattr(self._local, "messages", None)
        if messages is not None:
            messages.append(record.getMessage())

    def start(self) -> None:
        self._local.messages = []

    def take(self) -> list[str]:
        messages = getattr(self._local, "messages", None) or []
        self._local.messages = None
        return messages


class _RedactSecrets(logging.Filter):
    """Rewrites a record's message with every known channel secret replaced by ``***``."""

    def __init__(self) -> None:
        super().__init__()
        self.redactors: list[Redactor] = []

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        for redact in self.redactors:
            message = redact(message)
        record.msg, record.args = message, None
        return True


_WARNINGS = _ThreadWarnings()
_REDACT = _RedactSecrets()
# Loggers that can print a request URL (the Telegram token is in the path, Slack's in the URL).
_HTTP_LOGGERS = ("apprise", "urllib3", "urllib3.connectionpool", "requests")


def quiet_apprise() -> None:
    """Keep tokens out of every log line: Apprise's logger is detached from ours (its debug
    output prints the Bot API URL) and only hands its warnings to the senders; the HTTP
    libraries log at WARNING at most, through a redacting filter."""
    apprise_logger = logging.getLogger("apprise")
    apprise_logger.propagate = False
    if _WARNINGS not in apprise_logger.handlers:
        apprise_logger.addHandler(_WARNINGS)
    for name in _HTTP_LOGGERS:
        http_logger = logging.getLogger(name)
        http_logger.setLevel(logging.WARNING)
        if _REDACT not in http_logger.filters:
            http_logger.addFilter(_REDACT)


class AppriseTransport:
    """One Apprise plugin instance, used by one sender thread."""

    def __init__(self, channel: Channel, plugin: Any, redact: Redactor) -> None:
        self.channel = channel
        self.plugin = plugin
        self.redact = redact

    def send(self, text: str, title: str, silent: bool) -> tuple[bool, str]:
        if hasattr(self.plugin, "silent"):
            self.plugin.silent = silent
        _WARNINGS.start()
        try:
            ok = bool(self.plugin.notify(body=text, title=title, notify_type=NotifyType.INFO,
                                         body_format=NotifyFormat.TEXT))
        except Exception as exc:  # a plugin bug must not end the sender
            ok, warnings = False, [f"{type(exc).__name__}: {exc}"]
        else:
            warnings = []
        warnings = _WARNINGS.take() + warnings
        if ok:
            return True, ""
        return False, self.redact("; ".join(warnings)[-500:] or "the channel refused the message")


@dataclass(frozen=True, slots=True)
class ChannelSetup:
    """A channel as found in the environment: usable (``transport``) or why not (``problem``)."""

    channel: Channel
    masked_url: str
    problem: str
    transport: Transport | None
    redact: Redactor | None = None
    bot_token: str = ""  # Telegram only: for the command bot


def _point_at(plugin: Any, cfg: AlertsConfig) -> None:
    if isinstance(plugin, NotifyTelegram):
        plugin.notify_url = cfg.telegram_api_url.rstrip("/") + "/bot"
    elif isinstance(plugin, NotifySlack):
        plugin.webhook_url = cfg.slack_webhook_url.rstrip("/")
    plugin.socket_connect_timeout = cfg.send_timeout_s
    plugin.socket_read_timeout = cfg.send_timeout_s
    plugin.request_rate_per_sec = 0  # our own limiter paces each channel


def load_channel(channel: Channel, env: Mapping[str, str], cfg: AlertsConfig) -> ChannelSetup:
    """Parse one channel's URL from the environment (never raises; a bad URL is a problem)."""
    url = (env.get(channel.env_var) or "").strip()
    if not url:
        return ChannelSetup(channel, "", f"{channel.env_var} is not set", None)
    masked, redact = mask_url(url), Redactor(url)
    _REDACT.redactors.append(redact)
    started = time.monotonic()
    try:
        plugin = apprise.Apprise.instantiate(url)
    except Exception as exc:  # Apprise raises on some malformed URLs
        plugin = None
        logger.warning("%s: %s", channel.env_var, redact(str(exc)))
    if plugin is None or isinstance(plugin, bool):
        return ChannelSetup(channel, masked, f"{channel.env_var} is not a URL Apprise "
                            f"understands ({masked})", None, redact)
    _point_at(plugin, cfg)
    logger.info("alert channel %s: %s (%.0f ms)", channel.value, masked,
                (time.monotonic() - started) * 1000)
    token = str(getattr(plugin, "bot_token", "") or "") if channel is Channel.TELEGRAM else ""
    return ChannelSetup(channel, masked, "", AppriseTransport(channel, plugin, redact), redact,
                        token)


def load_channels(env: Mapping[str, str], cfg: AlertsConfig) -> dict[Channel, ChannelSetup]:
    """Every channel, configured or not."""
    quiet_apprise()
    _REDACT.redactors.clear()
    return {channel: load_channel(channel, env, cfg) for channel in Channel}


def command_chats(env: Mapping[str, str]) -> tuple[frozenset[int], str]:
    """Chat ids allowed to command the bot (ALERT_TELEGRAM_COMMAND_CHATS), or a problem."""
    raw = (env.get("ALERT_TELEGRAM_COMMAND_CHATS") or "").strip()
    if not raw:
        return frozenset(), "ALERT_TELEGRAM_COMMAND_CHATS is not set: every chat is refused"
    chats = set()
    for part in raw.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            chats.add(int(part))
        except ValueError:
            return frozenset(), f"ALERT_TELEGRAM_COMMAND_CHATS: {part!r} is not a chat id"
    return frozenset(chats), ""

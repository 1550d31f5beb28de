"""Telegram command bot: long-polls ``getUpdates`` over plain HTTP and answers with ``sendMessage``.

Runs on its own thread in the alerter. The update offset is stored in ``alert_state`` before
an update is handled, and an update whose id is below it (delivered again) is skipped, so no
command runs twice, across restarts too (a crash mid-update loses that one message rather than
repeating it). Messages from chats outside the allow-list are dropped unjournaled; messages
older than ``MAX_MESSAGE_AGE`` (sent while the alerter was down) are journaled and ignored, so a
stale ``/flatten`` can never fire. After a queued command the chat also gets the bot's
result once it is carried out. The API base comes from ``alerts.telegram_api_url`` (a local
stand-in in tests); the token from the channel URL.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.alerts.channels import Redactor
from bot.alerts.remote import RemoteCommands
from shared.domain.models import CommandStatus
from shared.persistence import alerts_store, ops_store
from shared.persistence.db import connect, write_transaction

logger = logging.getLogger(__name__)

OFFSET_STATE = "telegram_offset"
MAX_MESSAGE_AGE = timedelta(minutes=2)
OUTCOME_WAIT = timedelta(minutes=2)
ERROR_BACKOFF_MAX_S = 30.0


class TelegramPoller:
    """The command bot's thread: poll, handle, reply, follow queued commands to their result."""

    def __init__(
        self, api_url: str, token: str, redact: Redactor, allowed: frozenset[int],
        db_path: Path, wall_clock: Callable[[], datetime], long_poll_s: float = 10.0,
    ) -> None:
        self._base = f"{api_url.rstrip('/')}/bot{token}/"
        self._redact = redact
        self._allowed = allowed
        self._db_path = db_path
        self._wall_clock = wall_clock
        self.long_poll_s = long_poll_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="alerts-telegram-commands",
                                        daemon=True)
        self._awaiting: dict[int, tuple[int, datetime]] = {}

    def start(self) -> None:
        self._thread.start()

    def request_stop(self) -> None:
        """Ask the thread to stop after what it is doing (see ``stop``)."""
        self._stop.set()

    def stop(self, timeout_s: float) -> None:
        self._stop.set()
        self._thread.join(timeout_s)

    def call(self, method: str, payload: dict[str, Any], timeout_s: float) -> Any:
        """One Bot API call; returns ``result`` or raises with a redacted message."""
        request = urllib.request.Request(
            self._base + method, data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json"}, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as response:
                body = json.loads(response.read().decode() or "{}")
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise ConnectionError(self._redact(f"{method}: {exc}")) from None
        if not body.get("ok"):
            raise ConnectionError(self._redact(f"{method}: {body.get('description', body)}"))
        return body.get("result")

    def _run(self) -> None:
        conn = connect(self._db_path)
        handler = RemoteCommands(conn, self._allowed, self._wall_clock)
        offset = int(alerts_store.get_state(conn, OFFSET_STATE) or 0)
        backoff_s = 1.0
        try:
            while not self._stop.is_set():
                try:
                    updates = self.call("getUpdates", {
                        "offset": offset, "timeout": int(self.long_poll_s),
                        "allowed_updates": ["message"]}, self.long_poll_s + 10)
                except ConnectionError as exc:
                    logger.warning("telegram commands: %s; retrying in %.0f s", exc, backoff_s)
                    self._stop.wait(backoff_s)
                    backoff_s = min(backoff_s * 2, ERROR_BACKOFF_MAX_S)
                    continue
                backoff_s = 1.0
                for update in updates or []:
                    update_id = int(update.get("update_id", 0))
                    if update_id < offset:  # delivered again: handled already
                        logger.info("telegram update %d delivered again: skipped", update_id)
                        continue
                    offset = update_id + 1
                    with write_transaction(conn):  # acknowledged first: at most once
                        alerts_store.set_state(conn, OFFSET_STATE, str(offset),
                                               self._wall_clock())
                    self._handle(conn, handler, update.get("message") or {})
                self._follow_outcomes(handler)
        finally:
            conn.close()

    def _handle(self, conn, handler: RemoteCommands, message: dict[str, Any]) -> None:
        chat_id = (message.get("chat") or {}).get("id")
        text = message.get("text")
        if not isinstance(chat_id, int) or not isinstance(text, str):
            return
        if not handler.is_allowed(chat_id):  # before anything is journaled
            handler.refuse(chat_id, text.strip()[:40])
            return
        sent_at = datetime.fromtimestamp(int(message.get("date") or 0), UTC)
        age = self._wall_clock() - sent_at
        if age > MAX_MESSAGE_AGE:
            with write_transaction(conn):
                ops_store.record_answered_command(
                    conn, "stale_message", self._wall_clock(), CommandStatus.FAILED,
                    f"ignored: sent {age.total_seconds():.0f} s ago", f"telegram:{chat_id}",
                    {"text": text[:200]})
            return
        reply = handler.handle(chat_id, text)
        if reply is None:
            return
        self._send(chat_id, reply.text)
        if reply.command_id is not None:
            self._awaiting[reply.command_id] = (chat_id, self._wall_clock() + OUTCOME_WAIT)

    def _follow_outcomes(self, handler: RemoteCommands) -> None:
        for command_id, (chat_id, deadline) in list(self._awaiting.items()):
            result = handler.outcome(command_id)
            if result is not None:
                self._send(chat_id, result)
            if result is not None or self._wall_clock() > deadline:
                del self._awaiting[command_id]

    def _send(self, chat_id: int, text: str) -> None:
        try:
            self.call("sendMessage", {"chat_id": chat_id, "text": text[:4096]}, 10.0)
        except ConnectionError as exc:
            logger.warning("telegram reply to %s not sent: %s", chat_id, exc)

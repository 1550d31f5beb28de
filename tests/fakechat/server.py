"""A stand-in for the Telegram Bot API and a Slack incoming webhook, on loopback.

``POST /bot<token>/sendMessage`` and ``POST /services/<a>/<b>/<c>`` are recorded (path and
JSON body) and answered as the real services do (``{"ok": true, ...}`` / ``ok``);
``/bot<token>/getUpdates`` hands out the updates a test queued with ``send_update`` (long
polling up to half a second). Behaviour per request: ``fail_next(n, status)`` answers the next n
sends with an error, ``hang = True`` holds every send until the server closes (a dead channel).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

LONG_POLL_CAP_S = 0.5


@dataclass(frozen=True)
class Recorded:
    """One request as received."""

    path: str
    body: dict[str, Any]
    at: float

    @property
    def text(self) -> str:
        """Telegram's text, HTML entities and CRLFs undone (Apprise sends parse_mode HTML)."""
        import html

        return html.unescape(str(self.body.get("text", ""))).replace("\r\n", "\n")


class FakeChatServer:
    """ThreadingHTTPServer on 127.0.0.1 recording Telegram and Slack sends."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []  # answered sends (and getUpdates are not kept)
        self.held: list[Recorded] = []  # sends received while hanging, never answered
        self.hang = False
        self._failures: list[int] = []
        self._updates: list[dict[str, Any]] = []
        self._next_update_id = 1
        self._redeliver = False
        self._lock = threading.Condition()
        self._closed = threading.Event()
        handler = type("Handler", (_Handler,), {"fake": self})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeChatServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._closed.set()
        with self._lock:
            self._lock.notify_all()
        self.httpd.shutdown()
        self.httpd.server_close()

    def fail_next(self, count: int, status: int = 500) -> None:
        with self._lock:
            self._failures.extend([status] * count)

    def send_update(self, chat_id: int, text: str, sent_at: float | None = None) -> None:
        """Queue a message from ``chat_id`` for the bot's next getUpdates."""
        with self._lock:
            self._updates.append({"update_id": self._next_update_id, "message": {
                "message_id": self._next_update_id, "chat": {"id": chat_id, "type": "private"},
                "date": int(sent_at if sent_at is not None else time.time()), "text": text}})
            self._next_update_id += 1
            self._lock.notify_all()

    def redeliver(self) -> None:
        """Answer the next getUpdates with every update so far, whatever the offset (as after
        a lost acknowledgement)."""
        with self._lock:
            self._redeliver = True
            self._lock.notify_all()

    def sends(self, kind: str = "sendMessage") -> list[Recorded]:
        """Recorded sends: ``sendMessage`` (Telegram) or ``services`` (Slack)."""
        with self._lock:
            return [r for r in self.requests if kind in r.path]

    def record(self, path: str, body: dict[str, Any]) -> int | None:
        """Store a send; return the error status to answer with, if one is scripted."""
        with self._lock:
            self.requests.append(Recorded(path, body, time.monotonic()))
            return self._failures.pop(0) if self._failures else None

    def updates_after(self, offset: int, timeout_s: float) -> list[dict[str, Any]]:
        deadline = time.monotonic() + min(timeout_s, LONG_POLL_CAP_S)
        with self._lock:
            while True:
                found = [u for u in self._updates
                         if u["update_id"] >= offset or self._redeliver]
                if self._redeliver and found:
                    self._redeliver = False
                    return found
                left = deadline - time.monotonic()
                if found or left <= 0 or self._closed.is_set():
                    return found
                self._lock.wait(left)

    def hold(self, path: str, body: dict[str, Any]) -> None:
        """Keep a send unanswered until the server closes (a dead channel)."""
        with self._lock:
            self.held.append(Recorded(path, body, time.monotonic()))
        self._closed.wait()


class _Handler(BaseHTTPRequestHandler):
    fake: FakeChatServer

    def log_message(self, *args: object) -> None:
        return None

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {"_raw": raw.decode(errors="replace")}
        if self.path.endswith("/getUpdates"):
            updates = self.fake.updates_after(int(body.get("offset") or 0),
                                              float(body.get("timeout") or 0))
            self._answer(200, {"ok": True, "result": updates})
            return
        if self.fake.hang:
            self.fake.hold(self.path, body)
            return
        status = self.fake.record(self.path, body)
        if status is not None:
            self._answer(status, {"ok": False, "error_code": status,
                                  "description": f"scripted failure {status}"})
        elif self.path.startswith("/services/"):
            self._answer(200, "ok")
        else:
            self._answer(200, {"ok": True, "result": {"message_id": len(self.fake.requests)}})

    def _answer(self, status: int, payload: Any) -> None:
        data = (payload if isinstance(payload, str) else json.dumps(payload)).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain" if isinstance(payload, str)
                         else "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

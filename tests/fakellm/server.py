"""Fake Bedrock ``converse`` and OpenAI ``chat/completions`` on loopback, scripted per request.

Each request takes the next step of the script (or, when the script is empty, the responder's
step for that request, else the default step).
A step says how to answer: a tool call, text, a Bedrock error type with its HTTP status, a stop
reason, raw bytes (a garbage body), and an optional delay. Every request is recorded when it
arrives (before any delay), so ``count`` is the server-side number of HTTP requests.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

GOOD_REPLY = {"bias": "BULLISH", "confidence": 0.8, "action": "BUY",
              "rationale": "momentum after the open", "key_factors": ["trend up"],
              "risk_notes": "none"}


@dataclass(frozen=True)
class Step:
    """How to answer one request."""

    kind: str = "tool"  # tool | text | error | raw (payload bytes sent as they are)
    payload: Any = field(default_factory=lambda: dict(GOOD_REPLY))
    stop_reason: str = ""
    error_type: str = ""
    http_status: int = 200
    delay_s: float = 0.0
    input_tokens: int = 1200
    output_tokens: int = 150
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    headers: tuple[tuple[str, str], ...] = ()  # extra headers of a raw reply


def throttled() -> Step:
    return Step(kind="error", error_type="ThrottlingException", http_status=429)


def server_error() -> Step:
    return Step(kind="error", error_type="InternalServerException", http_status=500)


def access_denied() -> Step:
    return Step(kind="error", error_type="AccessDeniedException", http_status=403)


def garbage(body: bytes = b"\x00\xff<html>502 upstream \x9c\xfe garbage", status: int = 200
            ) -> Step:
    """A reply that is not JSON at all (binary junk under a 200)."""
    return Step(kind="raw", payload=body, http_status=status)


class FakeLlmServer:
    """A ThreadingHTTPServer on 127.0.0.1 with a script of steps and a request log."""

    def __init__(self, default: Step | None = None, port: int = 0,
                 responder: Callable[[dict[str, Any]], Step] | None = None) -> None:
        self.default = default or Step()
        self.responder = responder  # answers from the request itself when the script is empty
        self.script: deque[Step] = deque()
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        handler = type("Handler", (_Handler,), {"fake": self})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.httpd.daemon_threads = True
        self.httpd.block_on_close = False
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def __enter__(self) -> FakeLlmServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def push(self, *steps: Step) -> None:
        with self._lock:
            self.script.extend(steps)

    def drop_script(self) -> list[Step]:
        """Forget the steps no request took (a session-wide fake must not leave one pushed
        for a call that was never made to the next test's call); return them."""
        with self._lock:
            left = list(self.script)
            self.script.clear()
            return left

    def next_step(self, record: dict[str, Any]) -> Step:
        with self._lock:
            self.requests.append(record)
            if self.script:
                return self.script.popleft()
            return self.responder(record) if self.responder is not None else self.default

    def record(self, record: dict[str, Any]) -> None:
        """Log a request that takes no step (a GET)."""
        with self._lock:
            self.requests.append(record)

    def count(self, path_part: str) -> int:
        with self._lock:
            return sum(1 for r in self.requests if path_part in r["path"])


class _Handler(BaseHTTPRequestHandler):
    fake: FakeLlmServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        return None

    def _send(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
              ) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        try:
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            return

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        self.fake.record({"path": self.path, "method": "GET", "body": None,
                          "headers": dict(self.headers), "at": time.monotonic()})
        if self.path.rstrip("/").endswith("/models"):
            self._send(200, {"data": [{"id": "fake-model"}]})
            return
        self._send(404, {"message": "not found"})

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        record = {"path": self.path, "method": "POST", "body": body,
                  "headers": dict(self.headers), "at": time.monotonic()}
        step = self.fake.next_step(record)
        if step.delay_s:
            time.sleep(step.delay_s)
        if step.kind == "raw":
            self._raw(step)
        elif self.path.endswith("/converse"):
            self._converse(step)
        elif self.path.endswith("/chat/completions"):
            self._chat(step)
        else:
            self._send(404, {"message": f"unknown path {self.path}"})

    def _raw(self, step: Step) -> None:
        data = step.payload if isinstance(step.payload, bytes) else str(step.payload).encode()
        self.send_response(step.http_status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in step.headers:
            self.send_header(name, value)
        self.end_headers()
        try:
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            return

    def _usage(self, step: Step) -> dict[str, int]:
        usage = {"inputTokens": step.input_tokens, "outputTokens": step.output_tokens,
                 "totalTokens": step.input_tokens + step.output_tokens}
        if step.cache_read_tokens:
            usage["cacheReadInputTokens"] = step.cache_read_tokens
        if step.cache_write_tokens:
            usage["cacheWriteInputTokens"] = step.cache_write_tokens
        return usage

    def _converse(self, step: Step) -> None:
        if step.kind == "error":
            self._send(step.http_status, {"message": f"fake {step.error_type}"},
                       {"x-amzn-ErrorType": f"{step.error_type}:"})
            return
        if step.kind == "tool":
            content = [{"toolUse": {"toolUseId": "tooluse_1", "name": "emit_market_bias",
                                    "input": step.payload}}]
            stop = step.stop_reason or "tool_use"
        else:
            text = step.payload if isinstance(step.payload, str) else json.dumps(step.payload)
            content = [{"text": text}]
            stop = step.stop_reason or "end_turn"
        self._send(200, {
            "output": {"message": {"role": "assistant", "content": content}},
            "stopReason": stop, "usage": self._usage(step), "metrics": {"latencyMs": 42},
        })

    def _chat(self, step: Step) -> None:
        if step.kind == "error":
            self._send(step.http_status, {"error": {"message": f"fake {step.error_type}"}})
            return
        text = step.payload if isinstance(step.payload, str) else json.dumps(step.payload)
        finish = {"max_tokens": "length"}.get(step.stop_reason, step.stop_reason or "stop")
        self._send(200, {
            "id": "chatcmpl-1", "object": "chat.completion",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                         "finish_reason": finish}],
            "usage": {"prompt_tokens": step.input_tokens,
                      "completion_tokens": step.output_tokens},
        })

"""Fake Comprehend ``BatchDetectSentiment`` over the AWS JSON 1.1 protocol, scripted per request.

boto3 posts to ``/`` with ``X-Amz-Target: Comprehend_20171127.BatchDetectSentiment`` and a JSON
body ``{"TextList": [...], "LanguageCode": "en"}``. Each request takes the next scripted step
(``ok``, ``throttle``, ``error500``, ``doc_error``) or ``ok``. A text scores by its words:
"good" positive, "bad" negative, else neutral. Requests are recorded for assertions.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TARGET = "Comprehend_20171127.BatchDetectSentiment"
MAX_BATCH = 25


def sentiment_of(text: str) -> dict[str, Any]:
    """A deterministic ResultList entry body for one text."""
    words = text.lower().split()
    if "good" in words:
        label, scores = "POSITIVE", (0.9, 0.02, 0.07, 0.01)
    elif "bad" in words:
        label, scores = "NEGATIVE", (0.05, 0.85, 0.09, 0.01)
    else:
        label, scores = "NEUTRAL", (0.1, 0.1, 0.79, 0.01)
    keys = ("Positive", "Negative", "Neutral", "Mixed")
    return {"Sentiment": label, "SentimentScore": dict(zip(keys, scores, strict=True))}


class FakeComprehend:
    """A ThreadingHTTPServer on 127.0.0.1 with a script of steps and a request log."""

    def __init__(self) -> None:
        self.script: deque[str] = deque()
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        handler = type("Handler", (_Handler,), {"fake": self})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> FakeComprehend:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def push(self, *steps: str) -> None:
        with self._lock:
            self.script.extend(steps)

    def next_step(self, record: dict[str, Any]) -> str:
        with self._lock:
            self.requests.append(record)
            return self.script.popleft() if self.script else "ok"


class _Handler(BaseHTTPRequestHandler):
    fake: FakeComprehend

    def log_message(self, format: str, *args: object) -> None:
        return None

    def _reply(self, status: int, body: dict[str, Any], error_type: str = "") -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", "fake-request")
        if error_type:
            self.send_header("x-amzn-ErrorType", f"{error_type}:")
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, error_type: str, message: str) -> None:
        self._reply(status, {"__type": error_type, "message": message}, error_type)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        target = self.headers.get("X-Amz-Target", "")
        record = {"target": target, "texts": body.get("TextList", []),
                  "language": body.get("LanguageCode"),
                  "signed": self.headers.get("Authorization", "").startswith("AWS4-HMAC-SHA256")}
        step = self.fake.next_step(record)
        if target != TARGET:
            self._error(400, "UnknownOperationException", f"unknown target {target!r}")
        elif len(record["texts"]) > MAX_BATCH:
            self._error(400, "BatchSizeLimitExceededException", "more than 25 documents")
        elif step == "throttle":
            self._error(400, "ThrottlingException", "Rate exceeded")
        elif step == "error500":
            self._error(500, "InternalServerException", "internal failure")
        else:
            results, errors = [], []
            for index, text in enumerate(record["texts"]):
                if step == "doc_error" and index == 0:
                    errors.append({"Index": 0, "ErrorCode": "INTERNAL_SERVER_ERROR",
                                   "ErrorMessage": "could not score"})
                else:
                    results.append({"Index": index, **sentiment_of(text)})
            self._reply(200, {"ResultList": results, "ErrorList": errors})

"""A loopback HTTP server serving fixture feeds, with ETag support and scripted failures."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

FEEDS = Path(__file__).parent / "feeds"


class FeedServer:
    """Serves ``/name`` from the fixture folder; ``/status/<code>`` answers that status."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []  # (path, If-None-Match)
        self.etags: dict[str, str] = {"fed.atom": '"fed-v1"'}
        self.bodies: dict[str, bytes] = {p.name: p.read_bytes() for p in FEEDS.iterdir()}
        handler = type("Handler", (_Handler,), {"server_state": self})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> FeedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def count(self, path: str) -> int:
        return sum(1 for p, _ in self.requests if p == path)


class _Handler(BaseHTTPRequestHandler):
    server_state: FeedServer

    def log_message(self, format: str, *args: object) -> None:
        return None

    def do_GET(self) -> None:
        state = self.server_state
        match = self.headers.get("If-None-Match", "")
        state.requests.append((self.path, match))
        name = self.path.lstrip("/")
        if name.startswith("status/"):
            self.send_error(int(name.split("/")[1]))
            return
        body = state.bodies.get(name)
        if body is None:
            self.send_error(404)
            return
        etag = state.etags.get(name)
        if etag and match == etag:
            self.send_response(304)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        if etag:
            self.send_header("ETag", etag)
        self.end_headers()
        self.wfile.write(body)

"""``--cluster`` at a port that is not a Dask scheduler: one clear line, no exabyte allocation.

A plain TCP server on loopback answers every connection with an HTTP response; the Dask client
read its first 8 bytes as a message length and tried to allocate 2.82 EiB (issue 19).
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.research.dask_probe import handshake_problem

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]


def _serve(listener: socket.socket, reply: bytes, stop: threading.Event) -> None:
    listener.settimeout(0.2)
    while not stop.is_set():
        try:
            conn, _ = listener.accept()
        except TimeoutError:
            continue
        except OSError:
            return
        with conn, contextlib.suppress(OSError):
            conn.sendall(reply)


def _server(reply: bytes) -> Iterator[str]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop = threading.Event()
    thread = threading.Thread(target=_serve, args=(listener, reply, stop), daemon=True)
    thread.start()
    try:
        yield f"tcp://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()


@pytest.fixture
def http_server() -> Iterator[str]:
    yield from _server(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")


@pytest.fixture
def closing_server() -> Iterator[str]:
    yield from _server(b"SSH")


def test_a_non_dask_server_is_refused_by_the_probe(http_server, closing_server):
    assert handshake_problem(http_server, 2.0) == (
        "the server there is not a Dask scheduler (it opened with b'HTTP/1.1')")
    assert "closed the connection after 3 bytes" in handshake_problem(closing_server, 2.0)
    assert handshake_problem("tls://127.0.0.1:1", 2.0) is None  # not probed: the client says


def test_research_at_a_non_dask_port_exits_2_with_one_line(http_server):
    done = subprocess.run(
        [sys.executable, "-m", "bot", "research", "sweep", "--bars", "3000", "--strategy",
         "rsi_macd_bracket", "--grid", "stop_atr=2,3", "--cluster", http_server],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == (f"error: --cluster {http_server}: the server "
                                   "there is not a Dask scheduler (it opened with b'HTTP/1.1')")
    assert "Traceback" not in done.stdout + done.stderr and "EiB" not in done.stderr

"""A loopback HTTP server that answers at once with headers, then trickles the body."""

from __future__ import annotations

import select
import socket
import threading


class TricklingServer:
    """Answers every POST with headers at once, then one body byte a second, for ever (until
    the client closes): the per-read socket timeout alone never fires against it."""

    def __init__(self, interval_s: float = 1.0) -> None:
        self.interval_s = interval_s
        self.open_connections = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}"

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:  # the listener closed
                return
            threading.Thread(target=self._trickle, args=(conn,), daemon=True).start()

    def _trickle(self, conn: socket.socket) -> None:
        with self._lock:
            self.open_connections += 1
        try:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 100000\r\n\r\n")
            while not self._stop.is_set():
                # wait for the next byte's time, or for the client to close its end: a closed
                # connection counts as closed at once, not at the next (failing) send
                readable, _, _ = select.select([conn], [], [], self.interval_s)
                if readable and not conn.recv(1):
                    break
                conn.sendall(b" ")
        except OSError:
            pass  # the client closed its end: what the provider must do
        finally:
            conn.close()
            with self._lock:
                self.open_connections -= 1

    def close(self) -> None:
        self._stop.set()
        self.listener.close()

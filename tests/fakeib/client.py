"""A bare TWS API client that only logs in (handshake + startApi) and holds its clientId.

Tests use it as "another program already connected with this clientId".
"""

from __future__ import annotations

import socket
import struct

from tests.fakeib import wire


def _read_frame(sock: socket.socket) -> list[str]:
    header = b""
    while len(header) < 4:
        header += sock.recv(4 - len(header))
    size = struct.unpack(">I", header)[0]
    payload = b""
    while len(payload) < size:
        payload += sock.recv(size - len(payload))
    return payload.decode("ascii").split("\0")[:-1]


def hold_client_id(port: int, client_id: int, host: str = "127.0.0.1") -> socket.socket:
    """Connect and start the API with ``client_id``; return the open socket (close to free)."""
    sock = socket.create_connection((host, port), timeout=10)
    sock.sendall(b"API\0" + struct.pack(">I", 9) + b"v157..178")
    _read_frame(sock)  # server version and connection time
    sock.sendall(wire.frame([71, 2, client_id, ""]))
    while _read_frame(sock)[0] != "9":  # wait for nextValidId: the session is live
        pass
    return sock

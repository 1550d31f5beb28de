"""Check that a ``--cluster`` address speaks Dask before a Dask client connects to it.

A Dask scheduler writes its handshake as soon as a connection opens: an 8-byte little-endian
length, then a message of a few hundred bytes. The Dask client trusts that length and allocates
it, so a server of another kind (HTTP, SSH, a database) answering on the port made
``python -m bot research --cluster`` die with a traceback allocating exabytes. This probe reads
those first 8 bytes itself and refuses the address in one line when they cannot be a handshake.
A silent server is left to the client's own connect timeout.
"""

from __future__ import annotations

import socket
import struct
from urllib.parse import urlsplit

MAX_HANDSHAKE_BYTES = 1_000_000  # a real handshake is ~ 300 bytes


def _read_prefix(host: str, port: int, timeout_s: float) -> bytes | None:
    """The first 8 bytes the server sends (fewer if it closes); None if it sends nothing."""
    with socket.create_connection((host, port), timeout=timeout_s) as conn:
        data = b""
        try:
            while len(data) < 8:
                chunk = conn.recv(8 - len(data))
                if not chunk:
                    break
                data += chunk
        except TimeoutError:
            return data or None
        return data


def handshake_problem(address: str, timeout_s: float) -> str | None:
    """Why ``address`` (tcp://host:port) is not a Dask scheduler, or None when it may be.

    Only plain ``tcp://`` is probed; an unreachable address is left to the client, which says
    so in its own words.
    """
    parts = urlsplit(address)
    if parts.scheme != "tcp" or parts.hostname is None or parts.port is None:
        return None
    try:
        prefix = _read_prefix(parts.hostname, parts.port, timeout_s)
    except OSError:
        return None
    if prefix is None:
        return None
    if len(prefix) < 8:
        return f"the server there closed the connection after {len(prefix)} bytes: not Dask"
    (length,) = struct.unpack("<Q", prefix)
    if length == 0 or length > MAX_HANDSHAKE_BYTES:
        return f"the server there is not a Dask scheduler (it opened with {prefix!r})"
    return None

"""Read an HTTP reply against a total deadline, closing the connection past it.

A socket timeout bounds each read, not the whole reply: a server that trickles one byte a
second keeps a reader (and its thread and socket) busy for ever, long after the analyst's
deadline gave up on it. Both providers read their reply body through ``read_by``: past the
deadline the connection is closed and TimeoutError raised, so the abandoned call ends within
``read_timeout_s`` (``bedrock.bound_botocore_reads`` puts boto3's Converse reply through it).
"""

from __future__ import annotations

import time
from typing import Any

READ_CHUNK_BYTES = 65_536
MAX_REPLY_BYTES = 8_000_000


def read_by(reply: Any, deadline: float) -> bytes:
    """The reply's body, read as it arrives (``read1``); past ``deadline`` (monotonic) the
    connection is closed and TimeoutError raised; beyond MAX_REPLY_BYTES, ValueError."""
    parts: list[bytes] = []
    size = 0
    while True:
        if time.monotonic() > deadline:
            reply.close()
            raise TimeoutError("the reply took longer than read_timeout_s")
        chunk = reply.read1(READ_CHUNK_BYTES)
        if not chunk:
            return b"".join(parts)
        parts.append(chunk)
        size += len(chunk)
        if size > MAX_REPLY_BYTES:
            reply.close()
            raise ValueError(f"reply larger than {MAX_REPLY_BYTES:,} bytes")

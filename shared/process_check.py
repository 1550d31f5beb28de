"""Whether a recorded pid is still the process that recorded it (runs of long jobs).

A run row keeps the pid of the process working on it. When that process is killed (kill -9,
its process group killed, the machine restarted) nothing updates the row, so readers check the
pid: gone, a zombie, or reused by another program means the run's process is gone.
"""

from __future__ import annotations

import os
from pathlib import Path


def process_running(pid: int | None, needle: str = "") -> bool:
    """Whether ``pid`` is alive, not a zombie and (where /proc exists) runs a command line
    containing ``needle`` (so a reused pid does not count)."""
    if not pid or pid <= 0:
        return False
    proc = Path(f"/proc/{pid}")
    if proc.exists():
        try:
            state = (proc / "stat").read_text().rpartition(")")[2].split()[0]
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(
                errors="replace")
        except (OSError, IndexError):
            return False
        return state != "Z" and needle in cmdline
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

"""Helpers any test may use: the repository root and polling for a condition with a deadline."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
REPO_ROOT = Path(__file__).resolve().parents[1]


def wait_for(
    probe: Callable[[], T | None], timeout_s: float, what: str,
    process: subprocess.Popen[bytes] | None = None, log: Path | None = None,
) -> T:
    """Poll ``probe`` until it returns something truthy; fail with the process's log on timeout."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = probe()
        if result:
            return result
        if process is not None and process.poll() is not None:
            raise AssertionError(f"bot exited ({process.returncode}) while waiting for {what}:\n"
                                 f"{log.read_text() if log else ''}")
        time.sleep(0.05)
    tail = log.read_text()[-3000:] if log and log.exists() else ""
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}\n{tail}")

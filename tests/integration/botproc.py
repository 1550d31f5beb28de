"""Helpers to run ``python -m bot`` as a real subprocess against a temp database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml

from shared.persistence import ops_store
from shared.persistence.db import connect
from tests.support import REPO_ROOT, wait_for  # noqa: F401  (re-exported)

T = TypeVar("T")


def write_config(folder: Path, name: str, config: dict[str, Any]) -> Path:
    """Write a YAML config file and return its path."""
    path = folder / name
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def start_bot(
    config: Path, db: Path, log: Path, extra_env: dict[str, str] | None = None,
    stderr_log: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start ``python -m bot run`` with its output going to ``log`` (stderr too, unless
    ``stderr_log`` names a file of its own)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for knob in ("MIN_SIMILAR_TRADES", "MIN_WEIGHTED_WIN_RATE", "CONFIDENCE_THRESHOLD",
                 "TRADER_ALLOW_LIVE"):
        env.pop(knob, None)
    env.update(extra_env or {})
    command = [sys.executable, "-m", "bot", "run", "--config", str(config), "--db", str(db)]
    with log.open("ab") as out:
        if stderr_log is None:
            return subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=out,
                                    stderr=subprocess.STDOUT)
        with stderr_log.open("ab") as err:
            return subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=out, stderr=err)


def query(db: Path, fn: Callable[..., T], *args: Any) -> T | None:
    """Run one store query on a short-lived read-only connection (None if no db yet)."""
    if not db.exists():
        return None
    conn = connect(db, readonly=True)
    try:
        return fn(conn, *args)
    except Exception as exc:  # the schema may not exist yet while the bot starts
        if "no such table" in str(exc):
            return None
        raise
    finally:
        conn.close()


def heartbeat(db: Path) -> ops_store.Heartbeat | None:
    """The bot's heartbeat in ``db`` (None before the first beat)."""
    return query(db, ops_store.read_bot_state)


def stop_bot(process: subprocess.Popen[bytes], timeout_s: float = 15) -> tuple[int, float]:
    """SIGTERM the bot; return its exit code and how long it took to exit."""
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    code = process.wait(timeout=timeout_s)
    return code, time.monotonic() - started

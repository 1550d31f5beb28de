"""A journal filled by a real paper run of the bot, for the page tests."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import streamlit as st

from tests.integration.botproc import heartbeat, start_bot, write_config

PAPER_RUN_BARS = 1500


@pytest.fixture(scope="session")
def paper_run_db(tmp_path_factory) -> Path:
    """Run ``python -m bot run`` over 1,500 accelerated synthetic bars into a fresh database."""
    folder = tmp_path_factory.mktemp("paper_run")
    config = write_config(folder, "config.yaml", {
        "feed": {"source": "synthetic", "seed": 7, "start": "2025-03-03T14:30:00Z",
                 "speed": 100000, "max_bars": PAPER_RUN_BARS},
        "risk": {"max_hold_minutes": 10, "max_trades_per_day": 40,
                 "cooldown_after_loss_minutes": 1},
    })
    db, log = folder / "trader.db", folder / "bot.log"
    process = start_bot(config, db, log)
    if process.wait(timeout=180) != 0:
        raise RuntimeError(f"paper run failed:\n{log.read_text()[-3000:]}")
    if heartbeat(db).bars_processed != PAPER_RUN_BARS:
        raise RuntimeError("paper run did not play every bar")
    return db


def wire_dashboard(monkeypatch: pytest.MonkeyPatch, db: Path, config: Path) -> dict[str, Path]:
    """Point the pages at ``db`` and ``config`` (no supervisor, no password); fresh caches."""
    monkeypatch.setenv("TRADER_DB", str(db))
    monkeypatch.setenv("TRADER_CONFIG", str(config))
    monkeypatch.setenv("SUPERVISOR_URL", f"unix://{db.parent / 'no-supervisor.sock'}")
    monkeypatch.delenv("DASHBOARD_PASSWORD", raising=False)
    st.cache_data.clear()
    return {"db": db, "config": config}


@pytest.fixture
def app_env(paper_run_db, tmp_path, monkeypatch) -> dict[str, Path]:
    """A private copy of the paper-run journal and config file, wired through env vars."""
    db = tmp_path / "trader.db"
    shutil.copy(paper_run_db, db)
    config = tmp_path / "config.yaml"
    shutil.copy(paper_run_db.parent / "config.yaml", config)
    return wire_dashboard(monkeypatch, db, config)


def shown(markdown: str) -> str:
    """What a markdown element built with ``dashboard.plain.escape`` shows: escapes removed."""
    return re.sub(r"\\(.)", r"\1", markdown).replace("  \n", "\n").replace("\u2060", "")

"""Which finished backtest runs the Backtest page shows first: the ones this session just
launched, or after a reload the latest batch launched together (``compare off / on``, the four
LLM modes, plain / blind), so a comparison opens with every run of it selected, not only the
newest."""

from __future__ import annotations

import re
from typing import Any

from shared.persistence.codec import from_text

# the suffixes the page adds to the names of runs launched together
BATCH_SUFFIX = re.compile(
    r"\s*(?:· llm \w+)?\s*(?:· memory (?:off|on))?\s*(?:· (?:plain|blind))?$")
BATCH_WINDOW_S = 120.0


def _base(run: dict[str, Any]) -> tuple[str, str]:
    name = run.get("name") or ""
    match = BATCH_SUFFIX.search(name)
    suffix = match.group(0).strip() if match else ""
    return name[: match.start()] if match else name, suffix


def latest_batch(finished: list[dict[str, Any]]) -> list[int]:
    """Ids of the newest finished run and of the runs launched with it (same name before the
    batch suffix, created within ``BATCH_WINDOW_S``); newest first like ``finished``."""
    if not finished:
        return []
    latest = finished[0]
    base, suffix = _base(latest)
    if not suffix:
        return [latest["id"]]
    created = from_text(latest["created_at"])
    return [run["id"] for run in finished
            if _base(run)[0] == base and _base(run)[1]
            and abs((from_text(run["created_at"]) - created).total_seconds()) <= BATCH_WINDOW_S]


def default_selection(finished: list[dict[str, Any]], launched: list[int]) -> list[int]:
    """The runs launched in this session that have finished, else the latest batch."""
    finished_ids = {run["id"] for run in finished}
    mine = [run_id for run_id in launched if run_id in finished_ids]
    return mine or latest_batch(finished)

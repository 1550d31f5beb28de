"""Headlines for a backtest: a timestamped CSV scored once, fed to the engine's sentiment book.

Rows that carry a score keep it (an export of live scores replays exactly); the others are
scored with VADER, the live default, so a backtest never makes a paid call. The engine counts
a headline only from its time on, so handing the whole file over up front cannot look ahead.
"""

from __future__ import annotations

import logging
from pathlib import Path

from bot.adapters.news.headline_csv import read_headlines
from bot.adapters.news.vader import VaderScorer
from bot.core.sentiment import HeadlineScore

logger = logging.getLogger(__name__)


def load_headline_scores(path: Path, tz: str = "UTC") -> list[HeadlineScore]:
    """The file's headlines with scores; BadNewsFileError names a bad line."""
    rows = read_headlines(path, tz)
    unscored = [r for r in rows if r.score is None]
    computed = VaderScorer().score([r.headline.text for r in unscored]).scores if unscored else []
    by_line = {r.line: s for r, s in zip(unscored, computed, strict=True)}
    scores = [HeadlineScore(r.headline.received_at,
                            r.score if r.score is not None else float(by_line[r.line] or 0.0),
                            ("csv", r.line)) for r in rows]
    logger.info("%d headline(s) from %s (%d scored with VADER)", len(scores), path,
                len(unscored))
    return scores

"""The largest config text accepted: a config is a few kilobytes, so a huge file is a mistake.

Without a cap a 50 MB YAML file is parsed for tens of seconds (by the bot at start, by the
dashboard on save) before it is refused as a config; with it the refusal is one line at once.
"""

from __future__ import annotations

MAX_CONFIG_BYTES = 1_000_000  # the full default config dumps to ~9 kB


def oversize_problem(size_bytes: int, source: str) -> str | None:
    """Why a config text of ``size_bytes`` is refused unread, or None when it may be parsed."""
    if size_bytes <= MAX_CONFIG_BYTES:
        return None
    return (f"{source} is {size_bytes:,} bytes, more than the {MAX_CONFIG_BYTES:,} a config may "
            "have: not read (is it the right file?)")

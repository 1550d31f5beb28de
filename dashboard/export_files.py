"""The files a finished training export wrote, offered for download on the Memory page.

An export run records the paths it wrote (``result_json``); the page serves one only when it
resolves (links followed) inside the exports folder beside the journal, the folder the page's
jobs write to — a path a tampered row points elsewhere is refused with a line, never read
(the rules of ``dashboard.server_files``). A file is read only when its button is clicked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dashboard import server_files

EXPORTS_FOLDER = "exports"
FILE_KINDS = (("training_file", "training"), ("heldout_file", "held-out"),
              ("audit_file", "audit"))
JSONL_MIME = "application/jsonl"


@dataclass(frozen=True, slots=True)
class ExportFile:
    """One written file: what it is, where (checked), its size, or why it is not offered."""

    kind: str
    name: str
    path: Path | None
    size_bytes: int
    problem: str | None


def exports_folder(db_path: Path) -> Path:
    """Where the page's export jobs write (``<journal folder>/exports``)."""
    return db_path.parent / EXPORTS_FOLDER


def export_files(result: Mapping[str, Any], folder: Path) -> list[ExportFile]:
    """The files of a finished run's ``result``, each checked to lie inside ``folder``."""
    files = []
    for key, kind in FILE_KINDS:
        text = result.get(key)
        if not text or not isinstance(text, str):
            continue
        checked = server_files.check_server_path(text, [folder.resolve()], f"{kind} file")
        size_bytes = _size(checked.path) if checked.path is not None else None
        if checked.path is None or size_bytes is None:
            problem = checked.problem or f"{text}: no longer readable"
            files.append(ExportFile(kind, Path(text).name, None, 0, problem))
        else:
            files.append(ExportFile(kind, checked.path.name, checked.path, size_bytes, None))
    return files


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:  # removed since the check
        return None


def reader(path: Path):
    """A callable giving the file's bytes, for ``st.download_button`` (read on click)."""
    return path.read_bytes

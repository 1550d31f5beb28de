"""Which files on the server the dashboard may point a backtest or research run at.

The Backtest and Research pages take a path on the server; behind the password gate that is
still a door to the whole disk. A path is accepted only inside the data folders: the journal's
folder (``data/`` by default, where uploads and ``data/history/`` live), the checkout's
``data/``, and any folder the config lists in ``backtest.data_folders``. Symbolic links are
resolved first, so a link inside a data folder cannot lead out of it. The refusal names the
path as typed and the folders, never anything the file holds, and says nothing about whether
a file outside the folders exists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True, slots=True)
class ServerPath:
    """A checked path: the resolved file (or folder of Parquet days), or why it is refused."""

    path: Path | None
    problem: str | None


def data_folders(db_path: Path, configured: Sequence[str] = (),
                 repo_root: Path = REPO_ROOT) -> list[Path]:
    """The folders server paths may point into (resolved, duplicates dropped)."""
    folders = [db_path.parent, repo_root / "data"]
    folders += [_absolute(Path(text).expanduser(), repo_root) for text in configured if text]
    unique: list[Path] = []
    for folder in folders:
        resolved = folder.resolve()
        if resolved not in unique:
            unique.append(resolved)
    return unique


def check_server_path(text: str, folders: Sequence[Path], what: str = "file",
                      repo_root: Path = REPO_ROOT, folder_ok: bool = False) -> ServerPath:
    """Accept ``text`` (absolute, or relative to the checkout) when it resolves inside one of
    ``folders`` and is a file (or, with ``folder_ok``, a folder)."""
    typed = text.strip()
    if not typed:
        return ServerPath(None, f"Enter the path of a {what}")
    if "\x00" in typed:
        return ServerPath(None, f"{what.capitalize()} path holds a NUL character")
    resolved = _absolute(Path(typed).expanduser(), repo_root).resolve()
    if not any(resolved == folder or folder in resolved.parents for folder in folders):
        listed = ", ".join(str(folder) for folder in folders)
        return ServerPath(None, f"{typed}: not inside the data folders ({listed}); copy the "
                                f"{what} there or list its folder in backtest.data_folders")
    if resolved.is_file() or (folder_ok and resolved.is_dir()):
        return ServerPath(resolved, None)
    kind = "a file or a folder" if folder_ok else "a file"
    return ServerPath(None, f"{typed}: no such {what} in the data folders (expected {kind})")


def _absolute(path: Path, root: Path) -> Path:
    return path if path.is_absolute() else root / path


def page_path(text: str, configured: Sequence[str], db_path: Path, what: str,
              folder_ok: bool = False) -> str | None:
    """A page's server-path field checked; the refusal shown as one error (None when refused)."""
    import streamlit as st

    from dashboard import plain

    checked = check_server_path(text, data_folders(db_path, configured), what,
                                folder_ok=folder_ok)
    if checked.problem is not None:
        st.error(plain.escape(checked.problem))
        return None
    return str(checked.path)

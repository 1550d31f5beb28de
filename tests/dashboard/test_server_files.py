"""Server paths the dashboard accepts: only inside the data folders, symlinks resolved, and a
refusal that says nothing about the file (not even whether it exists)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dashboard.server_files import check_server_path, data_folders

pytestmark = pytest.mark.unit


@pytest.fixture
def layout(tmp_path: Path) -> dict[str, Path]:
    repo, data = tmp_path / "repo", tmp_path / "repo" / "data"
    (data / "history").mkdir(parents=True)
    (data / "history" / "es.csv").write_text("timestamp,open,high,low,close,volume\n")
    extra = tmp_path / "bars"
    extra.mkdir()
    (extra / "nq.parquet").write_bytes(b"PAR1")
    secret = tmp_path / "secret.txt"
    secret.write_text("API_KEY=SECRETVALUE\n")
    (data / "link.csv").symlink_to(secret)
    folders = data_folders(data / "trader.db", [str(extra)], repo_root=repo)
    return {"repo": repo, "data": data, "extra": extra, "secret": secret, "folders": folders}


def test_files_in_the_data_folders_and_configured_folders_are_accepted(layout):
    folders, repo = layout["folders"], layout["repo"]
    relative = check_server_path("data/history/es.csv", folders, repo_root=repo)
    assert relative.problem is None and relative.path == layout["data"] / "history" / "es.csv"
    configured = check_server_path(str(layout["extra"] / "nq.parquet"), folders, repo_root=repo)
    assert configured.problem is None
    folder = check_server_path(str(layout["data"] / "history"), folders, repo_root=repo,
                               folder_ok=True)
    assert folder.problem is None


@pytest.mark.parametrize("typed", ["/etc/passwd", "/etc/shadow", "/etc/no-such-file",
                                   "data/../../secret.txt", "data/link.csv", "../secret.txt"])
def test_paths_leading_out_of_the_data_folders_are_refused_alike(layout, typed):
    checked = check_server_path(typed, layout["folders"], repo_root=layout["repo"])
    assert checked.path is None
    assert checked.problem.startswith(f"{typed}: not inside the data folders (")
    assert "SECRETVALUE" not in checked.problem and "root" not in checked.problem.split("(")[0]


def test_a_missing_file_or_a_folder_where_a_file_is_wanted_is_named_plainly(layout):
    folders, repo = layout["folders"], layout["repo"]
    assert check_server_path("data/none.csv", folders, repo_root=repo).problem == (
        "data/none.csv: no such file in the data folders (expected a file)")
    assert check_server_path("data/history", folders, repo_root=repo).path is None
    assert check_server_path("  ", folders, repo_root=repo).problem == (
        "Enter the path of a file")

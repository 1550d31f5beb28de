"""Which files of a finished training export the Memory page offers for download."""

from __future__ import annotations

import pytest

from dashboard import export_files

pytestmark = pytest.mark.unit


def test_files_inside_the_exports_folder_are_offered_with_their_size(tmp_path):
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "t.jsonl").write_text("{}\n")
    (folder / "t.audit.jsonl").write_text("{}\n{}\n")
    files = export_files.export_files({"training_file": str(folder / "t.jsonl"),
                                       "heldout_file": None,
                                       "audit_file": str(folder / "t.audit.jsonl")}, folder)
    assert [(f.kind, f.name, f.size_bytes, f.problem) for f in files] == [
        ("training", "t.jsonl", 3, None), ("audit", "t.audit.jsonl", 6, None)]
    assert export_files.reader(files[1].path)() == b"{}\n{}\n"


def test_a_path_outside_the_folder_or_through_a_link_out_of_it_is_refused(tmp_path):
    folder = tmp_path / "exports"
    folder.mkdir()
    secret = tmp_path / "secret.jsonl"
    secret.write_text("no\n")
    (folder / "link.jsonl").symlink_to(secret)
    files = export_files.export_files({"training_file": str(secret),
                                       "heldout_file": str(folder / "link.jsonl"),
                                       "audit_file": str(folder / "gone.jsonl")}, folder)
    assert [f.path for f in files] == [None, None, None]
    assert "not inside the data folders" in files[0].problem
    assert "not inside the data folders" in files[1].problem
    assert "no such audit file" in files[2].problem

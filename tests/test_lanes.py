"""The lanes' folders hold no unit test, so the unit lane may skip importing them."""

from __future__ import annotations

import pytest

from tests.conftest import NEVER_UNIT_FOLDERS
from tests.support import REPO_ROOT

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("folder", NEVER_UNIT_FOLDERS)
def test_no_test_in_a_lane_folder_is_marked_unit(folder):
    """``-m unit`` does not collect these folders (conftest.pytest_ignore_collect): a unit test
    there would silently leave the unit lane, so there is none."""
    marked = [path.relative_to(REPO_ROOT).as_posix()
              for path in sorted((REPO_ROOT / "tests" / folder).rglob("*.py"))
              if "mark.unit" in path.read_text(encoding="utf-8")]
    assert marked == [], f"unit tests in tests/{folder}: move them out of the lane folder"

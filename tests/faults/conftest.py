"""Fixtures for the fault tests: a small tmpfs to fill up (root only)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.scenarios import TmpfsUnavailable, mounted_tmpfs


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A 3 MB tmpfs under ``tmp_path``, unmounted afterwards; skips where it cannot be made."""
    try:
        with mounted_tmpfs(tmp_path / "small_fs", "3m") as path:
            yield path
    except TmpfsUnavailable as exc:
        pytest.skip(str(exc))

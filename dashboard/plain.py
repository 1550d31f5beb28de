"""Model-, user- and remote-written text shown as plain text (DESIGN §4 rule 15).

Streamlit renders most elements' bodies (``st.markdown``, ``st.caption``, ``st.error`` …,
``help=`` tooltips) as GitHub-flavoured markdown: text a model or a remote chat wrote could show
an image that the browser fetches (``![x](http://host/beacon.png)``), a clickable link, or
formatting that passes for the dashboard's own. Long text goes through ``st.text`` (never
parsed); text that must sit inside a markdown element is escaped with ``escape``.
"""

from __future__ import annotations

import re
import string

import streamlit as st

# Every ASCII punctuation character may be backslash-escaped in CommonMark; escaping them all
# disarms links, images, emphasis, code, HTML tags and entities, tables, math ($), Streamlit's
# ``:color[...]`` and ``:icon:`` directives, and the ``www.`` / ``http://`` autolinks.
_ACTIVE = frozenset(string.punctuation)


# GitHub-flavoured markdown turns bare ``http://…``, ``www.…`` and ``name@host.tld`` in the
# rendered text into links whatever the escapes (a browser test saw it): an invisible word
# joiner breaks each pattern without changing what the reader sees.
WORD_JOINER = "\u2060"
_AUTOLINKS = re.compile(r"(?<=:)(?=//)|(?<=www)(?=\.)|(?=@)", re.IGNORECASE)


def escape(text: object) -> str:
    """``text`` as markdown that renders as exactly that text (every active character
    backslash-escaped, autolink patterns broken by a word joiner; line breaks kept)."""
    unlinked = _AUTOLINKS.sub(WORD_JOINER, str(text))
    escaped = "".join("\\" + ch if ch in _ACTIVE else ch for ch in unlinked)
    lines = escaped.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "  \n".join(lines)


def labelled_text(label: str, text: object) -> None:
    """A trusted bold label, then ``text`` shown literally (``st.text``: no markdown, no HTML)."""
    st.markdown(f"**{label}**")
    st.text(str(text))

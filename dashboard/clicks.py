"""Buttons that act once per click.

Streamlit 1.67 replays a click into the next run's body when a rerun (a timed fragment
refresh, another widget) interrupts the run that saw it, so ``if st.button(...): act()`` can
act twice for one click: under load a stop move was sent twice. A button's ``on_click``
callback runs once per click; ``arm`` is that callback and ``fired`` consumes what it noted,
so the page's body acts at most once per click, whatever the reruns.
"""

from __future__ import annotations

import streamlit as st

PREFIX = "_click_"


def arm(name: str) -> None:
    """``on_click`` of the button named ``name``: note one click."""
    st.session_state[PREFIX + name] = True


def fired(name: str) -> bool:
    """True once for each click ``arm(name)`` noted, then False until the next click."""
    return bool(st.session_state.pop(PREFIX + name, False))

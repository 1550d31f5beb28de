"""A button armed with ``clicks.arm`` fires once per click, in a real Streamlit script run
(``AppTest``): the click's run acts, a rerun without a click does not act again."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.unit


def _page() -> None:
    import streamlit as st

    from dashboard import clicks

    st.session_state.setdefault("acted", 0)
    st.button("Send", on_click=clicks.arm, args=("send",))
    if clicks.fired("send"):
        st.session_state["acted"] += 1
    st.write(f"acted {st.session_state['acted']}")


def test_a_click_acts_once_and_a_later_rerun_does_not_act_again():
    # imported here: Streamlit's test harness takes ~0.7 s to import, paid by both xdist workers
    # when at the top (each collects every module)
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_function(_page).run()
    assert app.session_state["acted"] == 0
    app.button[0].click().run()
    assert app.session_state["acted"] == 1
    app.run()  # a timed refresh or another widget: no click this time
    assert app.session_state["acted"] == 1
    app.button[0].click().run()
    assert app.session_state["acted"] == 2


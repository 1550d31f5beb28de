"""Open one dashboard page in a fresh AppTest session, as a browser's deep link (or reload) does.

A deep link runs the main script once with the page asked for. Running the default page first
and then switching (two script runs, the first drawing the whole Overview) reaches the same
page for about twice the time; this helper runs once and checks that the run ended on the page
asked for (a page hash that ``st.navigation`` did not know would fall back to the Overview).
"""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "streamlit_app.py")


def open_page(page: str, timeout_s: float = 60) -> AppTest:
    """A fresh session that lands on ``page`` (e.g. ``"app_pages/trades.py"``) in one run."""
    app = AppTest.from_file(APP, default_timeout=timeout_s).switch_page(page).run()
    finished = app._registered_pages.get(app._finished_page_script_hash, {})
    landed = Path(str(finished.get("script_path", ""))).resolve()
    if landed != (ROOT / page).resolve():
        raise AssertionError(f"opening {page} ran {landed or 'no page'} instead")
    return app

"""The LLM page in headless Chromium: a manual trigger reaches the bot, the fake Bedrock, the
call log, and its result appears on the page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from shared.persistence import llm_store
from tests.e2e.conftest import screenshot, wait_idle
from tests.integration.botproc import query

pytestmark = pytest.mark.integration
TIMEOUT_MS = 30_000


def test_manual_trigger_shows_the_models_answer(page, running_product, fake_llm):
    before = fake_llm.count("/converse")
    page.goto(running_product["url"] + "/llm", wait_until="domcontentloaded")
    expect(page.get_by_role("heading", name="LLM", exact=True)).to_be_visible(timeout=TIMEOUT_MS)
    wait_idle(page)
    notes = page.get_by_role("textbox", name="Notes for the model")
    notes.fill("browser check: FOMC minutes at 2pm")
    page.get_by_role("button", name="Ask the LLM").click()
    expect(page.get_by_text(re.compile(r"via the running bot"))).to_be_visible(
        timeout=TIMEOUT_MS)
    answer = page.get_by_text(re.compile(r"Call \d+ ok: BULLISH confidence 0\.80 BUY · cost \$"))
    expect(answer).to_be_visible(timeout=TIMEOUT_MS)
    # the model's reasoning is shown, not only its verdict
    expect(page.get_by_text("Rationale", exact=True)).to_be_visible()
    expect(page.get_by_text("momentum after the open", exact=True)).to_be_visible()
    expect(page.get_by_text("Risk notes", exact=True)).to_be_visible()
    expect(page.get_by_text("none", exact=True).first).to_be_visible()
    call_id = int(re.search(r"Call (\d+)", answer.inner_text()).group(1))
    calls = {c.call_id: c for c in query(running_product["db"], llm_store.recent_calls)}
    assert "FOMC minutes" in calls[call_id].prompt and calls[call_id].trigger == "manual"
    assert fake_llm.count("/converse") > before
    wait_idle(page)
    assert screenshot(page, "llm").stat().st_size > 10_000

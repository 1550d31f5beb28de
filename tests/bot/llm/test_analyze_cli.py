"""``python -m bot analyze`` follows the active config version, not the file (issue 19 item 8).

A real bot journals decisions; then the one-off job runs as a real process with a config file
that turns the model on, while the database's active version has it off: no call. Once the
version itself turns it on, the job makes exactly one call.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from shared.persistence import llm_store
from tests.fakellm.server import FakeLlmServer, Step
from tests.integration.botproc import REPO_ROOT, query, start_bot, write_config

pytestmark = pytest.mark.integration

REPLY = {"bias": "BEARISH", "confidence": 0.65, "action": "SELL", "rationale": "CPI hot",
         "key_factors": ["CPI"], "risk_notes": "event risk"}
FEED = {"source": "synthetic", "seed": 7, "start": "2025-03-03T14:30:00Z", "speed": 100000,
        "max_bars": 60}


def python_m_bot(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "TRADER_DB")}
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def fake():
    with FakeLlmServer(Step(payload=REPLY)) as server:
        yield server


def test_analyze_reads_the_active_version_and_spends_nothing_when_it_is_off(tmp_path, fake):
    db, log = tmp_path / "trader.db", tmp_path / "bot.log"
    bot_config = write_config(tmp_path, "bot.yaml", {"feed": FEED})  # llm.enabled: false
    assert start_bot(bot_config, db, log).wait(timeout=120) == 0, log.read_text()[-2000:]
    llm_on = {"enabled": True, "provider": "openai_compatible",
              "openai_base_url": fake.url + "/v1", "timeout_s": 5, "read_timeout_s": 4}
    file_on = write_config(tmp_path, "config.yaml", {"feed": FEED, "llm": llm_on})

    off = python_m_bot("analyze", "--config", str(file_on), "--db", str(db), "--notes", "x")
    assert off.returncode == 1, off.stderr
    assert "the LLM is off (llm.enabled: false in the active config): no call made" in (
        off.stdout + off.stderr)
    assert fake.count("/chat/completions") == 0 and not query(db, llm_store.recent_calls)

    imported = python_m_bot("config", "import", str(file_on), "--db", str(db))
    assert imported.returncode == 0, imported.stderr
    on = python_m_bot("analyze", "--db", str(db), "--notes", "quiet tape")
    assert on.returncode == 0, on.stdout + on.stderr
    assert fake.count("/chat/completions") == 1
    calls = query(db, llm_store.recent_calls)
    assert [c.status for c in calls] == ["ok"] and "quiet tape" in calls[0].prompt


def test_without_a_stored_version_the_file_is_used(tmp_path):
    db = tmp_path / "fresh.db"
    config = write_config(tmp_path, "config.yaml", {"llm": {"enabled": True, "provider": "none"}})
    done = python_m_bot("analyze", "--config", str(config), "--db", str(db))
    # The file turned the model on, so the job got past the switch to the empty journal.
    assert done.returncode == 1 and "no journaled decision yet" in done.stdout + done.stderr

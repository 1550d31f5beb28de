"""Dummy AWS credentials (never a real key), no instance-metadata lookups, a fresh journal."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.llm.analyst import AnalysisRequest, Analyst
from bot.llm.types import Provider, Trigger, TriggerKind
from shared.config.settings import LlmConfig
from tests.support import open_migrated_journal


@pytest.fixture(autouse=True)
def aws_env(monkeypatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE",
                 "AWS_SHARED_CREDENTIALS_FILE", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    connection = open_migrated_journal(tmp_path / "trader.db")
    yield connection
    connection.close()


def llm_config(**overrides) -> LlmConfig:
    """Fast test settings: short timeouts, quick retries."""
    values = {"enabled": True, "connect_timeout_s": 2.0, "read_timeout_s": 5.0,
              "timeout_s": 10.0, "max_attempts": 3, "retry_backoff_s": 0.01,
              "reply_cache_minutes": 0.0}
    values.update(overrides)
    return LlmConfig.model_validate(values)


def wall_clock() -> datetime:
    return datetime.now(UTC)


def request(notes: str = "check the open") -> AnalysisRequest:
    trigger = Trigger(TriggerKind.MANUAL, datetime(2025, 3, 3, 15, 0, tzinfo=UTC),
                      {"notes": notes})
    return AnalysisRequest(trigger, "You are a careful futures analyst.",
                           f"Market: ES 5000. Notes: {notes}", "test-v1")


def analyst(conn: sqlite3.Connection, cfg: LlmConfig, provider: Provider) -> Analyst:
    return Analyst(conn, cfg, provider, wall_clock)

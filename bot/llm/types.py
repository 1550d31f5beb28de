"""Domain types of the LLM path: call statuses, token usage, provider results, triggers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol


class CallStatus(StrEnum):
    """How one call ended, as the call log records it."""

    OK = "ok"
    PARSE_ERROR = "parse_error"
    TIMEOUT = "timeout"
    THROTTLED = "throttled"
    REFUSED = "refused"
    ERROR = "error"
    CACHED = "cached"
    EXPIRED = "expired"  # waited in the queue past ``max_queue_age_seconds``: never sent


class TriggerKind(StrEnum):
    """What made the LLM worth asking."""

    MARKET_OPEN = "market_open"
    MARKET_CLOSE = "market_close"
    VOLATILITY_SPIKE = "volatility_spike"
    NEWS = "news"
    MANUAL = "manual"
    REVIEW = "review"  # the nightly review's lesson (bot/learning), not a market event
    EVALUATION = "evaluation"  # finetune evaluate: a held-out prompt, not a market event
    CANDIDATE = "candidate"  # the per-signal gate (llm.gate): an entry the ensemble proposes


@dataclass(frozen=True, slots=True)
class Trigger:
    """One detected event, at engine (bar) time, with what caused it."""

    kind: TriggerKind
    ts: datetime
    payload: dict[str, Any] = field(default_factory=dict)
    command_id: int | None = None


@dataclass(frozen=True, slots=True)
class Usage:
    """Tokens of one call; Bedrock's ``inputTokens`` excludes cache reads and writes."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0


@dataclass(frozen=True, slots=True)
class ProviderResult:
    """A provider's answer to one HTTP attempt: parsed JSON (or None), usage, how it ended.

    ``retryable`` marks a transient failure (throttling, 5xx, a timeout) worth another governed
    attempt; ``usage_known`` is False when a reply may have been billed but its token usage
    could not be read (a read timeout, an unreadable body), so the reservation is kept as cost.
    """

    status: CallStatus
    parsed: dict[str, Any] | None
    raw_text: str
    usage: Usage
    latency_ms: float
    stop_reason: str
    retry_attempts: int = 0
    error: str = ""
    retryable: bool = False
    usage_known: bool = True


class Provider(Protocol):
    """The narrow interface every provider implements."""

    name: str
    model: str

    def availability(self) -> tuple[bool, str]:
        """Whether calls can be made now, and why not."""
        ...

    def complete_json(self, system: str, user: str, schema: dict[str, Any]) -> ProviderResult:
        """Make exactly one HTTP attempt (no library retries); never raises for remote failures.

        Retries are the analyst's, so each attempt goes through the governor first.
        """
        ...

"""When to make another governed attempt after a failed one, and how long to wait first.

Libraries never retry behind the governor (botocore runs with ``total_max_attempts=1``; the
OpenAI-compatible client follows no redirects); the analyst retries here instead, so each HTTP
attempt is reserved against the call quota and the dollar limit before it is made.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.config.settings import LlmConfig

BACKOFF_CAP_S = 20.0
MIN_ATTEMPT_S = 1.0  # never start an attempt with less time than this left before the deadline


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Total attempts, first backoff (doubling each retry) and the analysis' deadline."""

    max_attempts: int
    backoff_s: float
    deadline_s: float

    @classmethod
    def from_config(cls, cfg: LlmConfig) -> RetryPolicy:
        """The policy of the ``llm`` config section."""
        return cls(cfg.max_attempts, cfg.retry_backoff_s, cfg.timeout_s)

    def backoff(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        return min(BACKOFF_CAP_S, self.backoff_s * 2 ** (attempt - 1))

    def next_wait(self, attempt: int, retryable: bool, remaining_s: float) -> float | None:
        """The wait before another attempt, or None when there must be none.

        None when the failure is not transient, the attempts are used up, or the wait would
        leave less than ``MIN_ATTEMPT_S`` before the deadline (the attempt would be cut short
        and still cost its reservation).
        """
        if not retryable or attempt >= self.max_attempts:
            return None
        wait = self.backoff(attempt)
        if remaining_s - wait < min(MIN_ATTEMPT_S, self.deadline_s):
            return None
        return wait

"""Amazon Comprehend ``BatchDetectSentiment`` as a headline scorer, governed like the LLM calls.

Texts go in batches of at most 25 (the API's limit), each cut to 4,900 UTF-8 bytes (limit 5 KB).
Every HTTP attempt first reserves one call and its exact price against the shared daily quota
and dollar limit in SQLite (``llm_store.reserve_call``), and is settled in ``llm_calls`` with its
status, latency and cost. botocore's own retries are off (``total_max_attempts: 1``): a
throttled or 5xx attempt is settled, then retried here after a doubling backoff, so no attempt
escapes the governor (DESIGN rule 8). Score = Positive - Negative, in [-1, 1].

Price: Comprehend bills units of 100 characters, with a minimum of 3 units per document
($0.0001 per unit by default; both in the ``news`` config). A throttled attempt costs nothing;
a read timeout keeps its reservation (it may have been processed and billed).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import sqlite3
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ReadTimeoutError

from bot.llm.aws_session import new_session
from bot.llm.types import CallStatus
from bot.ports import SentimentResult
from shared.config.settings import LlmConfig, NewsConfig
from shared.persistence import llm_store
from shared.persistence.db import write_transaction

logger = logging.getLogger(__name__)

NAME = "comprehend"
OPERATION = "BatchDetectSentiment"
MAX_BATCH = 25
MAX_TEXT_BYTES = 4900
RETRY_CODES = frozenset({"ThrottlingException", "TooManyRequestsException",
                         "ProvisionedThroughputExceededException", "InternalServerException",
                         "ServiceUnavailableException"})
THROTTLE_CODES = frozenset({"ThrottlingException", "TooManyRequestsException",
                            "ProvisionedThroughputExceededException"})


def units(text: str, min_units: int) -> int:
    """Billed units of one document: 100 characters each, at least ``min_units``."""
    return max(min_units, math.ceil(len(text) / 100))


def batch_cost_usd(texts: list[str], cfg: NewsConfig) -> float:
    """The price of one batch, every document billed."""
    return sum(units(t, cfg.comprehend_min_units) for t in texts) * cfg.comprehend_usd_per_unit


def fit(text: str) -> str:
    """A text cut to Comprehend's size limit (whole characters only)."""
    return text.encode("utf-8")[:MAX_TEXT_BYTES].decode("utf-8", errors="ignore") or "."


def score_of(result: dict[str, Any]) -> float:
    """Positive minus Negative of one ResultList entry."""
    scores = result.get("SentimentScore") or {}
    value = float(scores.get("Positive") or 0.0) - float(scores.get("Negative") or 0.0)
    return max(-1.0, min(1.0, value))


class ComprehendScorer:
    """Scores texts through Comprehend; remote failures give None scores, never exceptions."""

    name = NAME

    def __init__(self, conn: sqlite3.Connection, cfg: NewsConfig, llm_cfg: LlmConfig,
                 wall_clock: Callable[[], datetime],
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.conn = conn
        self.cfg = cfg
        self.limits = llm_store.Limits(llm_cfg.daily_call_quota, llm_cfg.daily_cost_limit_usd,
                                       llm_cfg.warn_fraction)
        self.wall_clock = wall_clock
        self.sleep = sleep
        session = new_session(cfg.comprehend_region)
        self._client = session.client(
            "comprehend", region_name=cfg.comprehend_region,
            endpoint_url=cfg.comprehend_endpoint_url or None,
            config=Config(connect_timeout=min(5.0, cfg.comprehend_timeout_s),
                          read_timeout=cfg.comprehend_timeout_s,
                          retries={"mode": "standard", "total_max_attempts": 1}),
        )

    def score(self, texts: list[str]) -> SentimentResult:
        """Score every text in batches of 25; a batch that fails leaves its scores None."""
        scores: list[float | None] = [None] * len(texts)
        problems: list[str] = []
        for start in range(0, len(texts), MAX_BATCH):
            batch = [fit(t) for t in texts[start:start + MAX_BATCH]]
            found, problem = self._batch(batch)
            for offset, value in found.items():
                scores[start + offset] = value
            if problem:
                problems.append(problem)
        return SentimentResult(scores, NAME, tuple(problems))

    def _request(self, texts: list[str], attempt: int) -> llm_store.CallRequest:
        now = self.wall_clock()
        digest = hashlib.sha256("\x00".join(texts).encode()).hexdigest()
        detail = {"texts": len(texts), "attempt": attempt,
                  "units": sum(units(t, self.cfg.comprehend_min_units) for t in texts)}
        return llm_store.CallRequest(
            created_at=now, day=now.date().isoformat(), trigger="sentiment",
            trigger_json=llm_store.trigger_detail(detail), command_id=None, provider=NAME,
            model=OPERATION, template_version=f"comprehend-{self.cfg.comprehend_language}",
            prompt_hash=digest, system_prompt="", prompt="\n".join(texts),
        )

    def _batch(self, texts: list[str]) -> tuple[dict[int, float], str]:
        price = batch_cost_usd(texts, self.cfg)
        for attempt in range(1, self.cfg.comprehend_max_attempts + 1):
            request = self._request(texts, attempt)
            with write_transaction(self.conn):
                reservation = llm_store.reserve_call(self.conn, request, price, self.limits)
            for warning in reservation.warnings:
                logger.warning("%s", warning)
            if not reservation.granted:
                return {}, f"Comprehend call refused: {reservation.reason}"
            found, status, error, retry = self._attempt(reservation.call_id, texts, attempt,
                                                        price)
            if not retry or attempt == self.cfg.comprehend_max_attempts:
                return found, "" if status is CallStatus.OK else f"Comprehend {status}: {error}"
            delay_s = self.cfg.comprehend_backoff_s * 2 ** (attempt - 1)
            logger.info("Comprehend %s; retry %d in %g s", error, attempt, delay_s)
            self.sleep(delay_s)
        return {}, "Comprehend: no attempt left"

    def _attempt(self, call_id: int, texts: list[str], attempt: int, price: float
                 ) -> tuple[dict[int, float], CallStatus, str, bool]:
        """One HTTP attempt, settled in the call log; returns scores, status, error, retry?"""
        started = time.perf_counter()
        response: dict[str, Any] = {}
        retry, cost = False, 0.0
        try:
            response = self._client.batch_detect_sentiment(
                TextList=texts, LanguageCode=self.cfg.comprehend_language)
            status, error = CallStatus.OK, ""
        except ClientError as exc:
            code = str((exc.response.get("Error") or {}).get("Code") or "ClientError")
            message = str((exc.response.get("Error") or {}).get("Message") or "")
            http = int((exc.response.get("ResponseMetadata") or {}).get("HTTPStatusCode") or 0)
            retry = code in RETRY_CODES or http in (429, 500, 502, 503, 504)
            status = CallStatus.THROTTLED if code in THROTTLE_CODES or http == 429 else (
                CallStatus.ERROR)
            error = f"{code}: {message}"[:500]
        except ReadTimeoutError as exc:
            status, error, cost = CallStatus.TIMEOUT, f"ReadTimeoutError: {exc}"[:500], price
        except BotoCoreError as exc:
            status, error = CallStatus.ERROR, f"{type(exc).__name__}: {exc}"[:500]
        found = {int(r["Index"]): score_of(r) for r in response.get("ResultList") or []
                 if isinstance(r, dict) and 0 <= int(r.get("Index", -1)) < len(texts)}
        if status is CallStatus.OK:
            cost = sum(units(texts[i], self.cfg.comprehend_min_units) for i in found
                       ) * self.cfg.comprehend_usd_per_unit
            errors = response.get("ErrorList") or []
            if errors:
                error = f"{len(errors)} document(s) not scored: {errors[0].get('ErrorCode')}"
        latency_ms = (time.perf_counter() - started) * 1000
        body = {"ResultList": response.get("ResultList") or [],
                "ErrorList": response.get("ErrorList") or []}
        with write_transaction(self.conn):
            llm_store.settle_call(self.conn, call_id, llm_store.Settlement(
                status=status.value, response=json.dumps(body, sort_keys=True)[:20000], error=error,
                stop_reason="", input_tokens=0, output_tokens=0, cache_read_tokens=0,
                cache_write_tokens=0, cost_usd=cost, latency_ms=latency_ms,
                retry_attempts=attempt - 1, bias=None, confidence=None, action=None,
                settled_at=self.wall_clock(),
            ))
        return found, status, error, retry

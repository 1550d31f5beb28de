"""The LLM worker thread: a request queue in, a result queue out; the live loop never waits.

The thread owns its SQLite connection and provider. ``submit`` never blocks (a full queue drops
the request and says so) and stamps the request's queue time; ``results`` only drains what is
ready. A request that waited longer than ``max_queue_age_seconds`` is discarded unsent (its
snapshot is stale) and logged as ``expired``. Each analysis has a wall-clock deadline inside
the analyst, so a hung provider holds the worker at most ``timeout_s``; stopping the worker
cuts a retry backoff short.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

from bot.llm.analyst import AnalysisOutcome, AnalysisRequest, Analyst
from bot.llm.providers import make_provider
from bot.llm.roles.governed import analyze_with_roles
from bot.llm.routing import ProviderRouter, default_model
from bot.llm.types import CallStatus, Provider
from shared.config.settings import LlmConfig
from shared.persistence import finetune_store, llm_store
from shared.persistence.db import connect, write_transaction

logger = logging.getLogger(__name__)

QUEUE_SIZE = 8
POLL_S = 0.2
ABANDON_MARGIN = timedelta(seconds=60)


class LlmWorker:
    """One background thread making governed LLM calls."""

    def __init__(
        self, db_path: Path, cfg: LlmConfig, wall_clock: Callable[[], datetime],
        provider_factory: Callable[[LlmConfig], Provider] = make_provider,
    ) -> None:
        self.db_path = db_path
        self.cfg = cfg
        self.wall_clock = wall_clock
        self.provider_factory = provider_factory
        self.requests: queue.Queue[AnalysisRequest | None] = queue.Queue(QUEUE_SIZE)
        self._results: queue.Queue[AnalysisOutcome] = queue.Queue()
        self.availability: tuple[bool, str] = (False, "starting")
        self.model = ""
        self._thread = threading.Thread(target=self._run, name="llm-worker", daemon=True)
        self._stop = threading.Event()

    def start(self) -> None:
        """Start the thread."""
        self._thread.start()

    def submit(self, request: AnalysisRequest) -> bool:
        """Queue a request (stamped with its queue time) without blocking; False when full."""
        try:
            self.requests.put_nowait(replace(request, queued_at=self.wall_clock()))
        except queue.Full:
            logger.warning("LLM queue full: %s trigger dropped", request.trigger.kind.value)
            return False
        return True

    def results(self) -> list[AnalysisOutcome]:
        """Every finished analysis not yet collected (never blocks)."""
        done: list[AnalysisOutcome] = []
        while not self._results.empty():  # the one consumer: what is there stays there
            done.append(self._results.get_nowait())
        return done

    def apply_settings(self, cfg: LlmConfig) -> None:
        """Use reloaded limits and modes from the next call on."""
        self.cfg = cfg

    def stop(self, timeout_s: float = 2.0) -> None:
        """Ask the thread to finish; an in-flight call is abandoned after ``timeout_s``."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def _run(self) -> None:
        conn = connect(self.db_path)
        try:
            now = self.wall_clock()
            stale = now - timedelta(seconds=self.cfg.timeout_s) - ABANDON_MARGIN
            with write_transaction(conn):
                abandoned = llm_store.abandon_pending(conn, stale, now)
            if abandoned:
                logger.warning("%d LLM call(s) left pending by a stopped process closed",
                               abandoned)
            router = ProviderRouter(self.provider_factory)
            provider = router.provider(self.cfg, default_model(self.cfg))
            self.model = provider.model
            self.availability = provider.availability()
            logger.info("LLM worker: %s %s available=%s (%s); %d model route(s)", provider.name,
                        provider.model, *self.availability, len(self.cfg.routes))
            while not self._stop.is_set():
                try:
                    request = self.requests.get(timeout=POLL_S)
                except queue.Empty:
                    continue
                if request is None:
                    break
                self._results.put(self._analyze(conn, router, request))
        finally:
            conn.close()

    def queue_age_s(self, request: AnalysisRequest) -> float:
        """Seconds the request has waited since ``submit`` (0 if it never went through it)."""
        if request.queued_at is None:
            return 0.0
        return max(0.0, (self.wall_clock() - request.queued_at).total_seconds())

    def _analyze(self, conn, router: ProviderRouter, request: AnalysisRequest
                 ) -> AnalysisOutcome:
        try:
            cfg = self.cfg
            def approved(model: str) -> bool:
                return finetune_store.approved_custom_model(conn, model)

            choice, provider = router.route(
                cfg, request.volatility, request.trigger.kind.value, approved)
            request = replace(request, route=choice.name)
            analyst = Analyst(conn, cfg, provider, self.wall_clock, self._stop.wait)
            age_s = self.queue_age_s(request)
            if age_s > cfg.max_queue_age_seconds:
                return analyst.discard(request, (
                    f"waited {age_s:.0f} s in the queue, longer than max_queue_age_seconds "
                    f"({cfg.max_queue_age_seconds:g} s): its snapshot is stale; nothing sent"))
            self.availability = provider.availability()
            if not self.availability[0]:
                return AnalysisOutcome(0, request.trigger, CallStatus.ERROR, None, 0.0,
                                       f"provider unavailable: {self.availability[1]}")
            if cfg.roles.enabled:  # the analyst roles (bot/llm/roles); it is the fallback
                return analyze_with_roles(conn, cfg, router, request, analyst, approved)
            return analyst.analyze(request)
        except Exception as exc:  # the worker must survive anything a call throws
            logger.exception("LLM analysis failed")
            return AnalysisOutcome(0, request.trigger, CallStatus.ERROR, None, 0.0,
                                   f"{type(exc).__name__}: {exc}")

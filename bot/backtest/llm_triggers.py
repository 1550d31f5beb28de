"""Where a backtest would ask the LLM, and what asking could cost, known before any call.

``detect_triggers`` runs the live event detector (``bot.llm.detector``) over every decision bar
of the run — the time triggers (``market_open``, ``market_close``) and ``volatility_spike`` —
each starting its cooldown as a live trigger the worker accepted does. Headline triggers need
headlines, which a backtest does not have. ``estimate_spend`` bounds the dollars of
``--llm record`` from the trigger count, the call cap and the price table, before it starts.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from datetime import timedelta

import numpy as np

from bot.backtest.data import BarData
from bot.backtest.engine_run import session_clock
from bot.backtest.vector_features import column, feature_matrix, features_at
from bot.core.llm_reply import reply_json_schema
from bot.llm.context import SYSTEM_PROMPT
from bot.llm.cost import price_for, reserve_usd
from bot.llm.detector import EventDetector
from bot.llm.roles.spec import ROLE_ORDER
from bot.llm.types import Trigger
from shared.config.settings import EventsConfig, LlmConfig, Settings

logger = logging.getLogger(__name__)

# A user message is ~1.3 KB plus ~110 bytes per recent trade (measured on built prompts); the
# estimate takes half as much again, and the governor reserves each attempt's real prompt.
USER_PROMPT_BYTES = 2000
TRADE_BYTES = 170


def detect_triggers(data: BarData, settings: Settings) -> dict[int, tuple[Trigger, ...]]:
    """Triggers per decision bar index, in bar order (a bar may fire more than one kind)."""
    if "news" in settings.events.triggers:
        logger.info("LLM news triggers need headlines: a backtest has none, so none fire")
    bar_length = timedelta(seconds=data.bar_seconds)
    detector = EventDetector(settings.events, session_clock(), bar_length)
    matrix = feature_matrix(data.open, data.high, data.low, data.close, data.volume,
                            settings.features)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = matrix[:, column("atr_points")] / matrix[:, column("atr_baseline_points")]
    spiking = ratio >= settings.events.volatility_spike_atr_ratio * (1 - 1e-9)
    candidates = _may_trigger(data, settings.events, spiking)
    found: dict[int, tuple[Trigger, ...]] = {}
    for index in np.flatnonzero(candidates[data.first:]) + data.first:
        index = int(index)
        start = data.ts(index)
        features = None  # the detector reads them only for a spike: skip building the others
        if spiking[index]:
            features = features_at(matrix, index, start, data.high, data.low, data.close,
                                   settings.features, exact=False)
        fired = detector.on_bar(start + bar_length, features)
        for trigger in fired:
            detector.mark_fired(trigger)
        if fired:
            found[index] = tuple(fired)
    return found


def _may_trigger(data: BarData, cfg: EventsConfig, spiking: np.ndarray) -> np.ndarray:
    """Bars on which some enabled trigger might fire (a superset: the detector decides).

    The time triggers fire where regular trading hours start or end between a mark and the
    mark one bar earlier; each mark is also tried a millisecond either side, so float
    rounding can only add candidates. The detector keeps no state on other bars.
    """
    enabled, clock = set(cfg.triggers), session_clock()
    bar_s = float(data.bar_seconds)
    closes = data.ts_ns / 1e9 + bar_s
    maybe = spiking.copy() if "volatility_spike" in enabled else np.zeros(len(data), bool)

    def edge(mark: np.ndarray) -> np.ndarray:
        return np.logical_or.reduce([clock.rth_flags(mark + d) != clock.rth_flags(mark + d - bar_s)
                                     for d in (-1e-3, 0.0, 1e-3)])

    if "market_open" in enabled:
        maybe |= edge(closes - cfg.market_open_offset_minutes * 60)
    if "market_close" in enabled:
        maybe |= edge(closes + cfg.market_close_offset_minutes * 60)
    return maybe


def provider_identity(cfg: LlmConfig) -> tuple[str, str]:
    """The provider name and model a prompt hash is keyed by (as the provider reports them)."""
    if cfg.provider == "openai_compatible":
        return cfg.provider, cfg.openai_model
    return cfg.provider, cfg.bedrock_model


@dataclass(frozen=True, slots=True)
class SpendEstimate:
    """The most ``--llm record`` may spend: HTTP calls at most × worst-case dollars each."""

    triggers: int
    calls: int
    cap: int
    per_call_usd: float
    provider: str
    model: str

    @property
    def total_usd(self) -> float:
        """Calls × the price per call."""
        return self.calls * self.per_call_usd

    def line(self) -> str:
        """The estimate in one line."""
        return (f"--llm record: {self.triggers} trigger(s) over these bars; at most "
                f"{self.calls} HTTP call(s) (--llm-max-calls {self.cap}, retries included) × "
                f"${self.per_call_usd:.4f} worst case each ({self.provider} {self.model}, "
                f"llm.prices) = estimate ${self.total_usd:.4f}")


def per_call_usd(cfg: LlmConfig) -> float:
    """Worst-case dollars of one attempt with a typical prompt (the governor's formula), at
    the dearest model a call may be routed to (``llm.routes``)."""
    provider, default = provider_identity(cfg)
    user_bytes = USER_PROMPT_BYTES + TRADE_BYTES * cfg.recent_trades_in_prompt
    prompt = SYSTEM_PROMPT + "x" * user_bytes + json.dumps(reply_json_schema())
    models = {default, *(route.model for route in cfg.routes)}
    return max(reserve_usd(prompt, cfg.max_output_tokens, price_for(model, cfg, provider), model)
               for model in models)


def estimate_spend(cfg: LlmConfig, triggers: int, cap: int) -> SpendEstimate:
    """The spend bound of recording ``triggers`` triggers with at most ``cap`` HTTP calls."""
    provider, model = provider_identity(cfg)
    per_trigger = len(ROLE_ORDER) + 1 if cfg.roles.enabled else 1  # roles, then the fallback
    calls = min(cap, triggers * cfg.max_attempts * per_trigger)
    return SpendEstimate(triggers, calls, cap, per_call_usd(cfg), provider, model)


def attempts_allowed(cfg: LlmConfig, calls_left: int, budget_left_usd: float,
                     reserve_each_usd: float) -> int:
    """Attempts one analysis may make within the call cap and the dollars still budgeted."""
    allowed = min(cfg.max_attempts, calls_left)
    if reserve_each_usd > 0:
        allowed = min(allowed, math.floor(budget_left_usd / reserve_each_usd + 1e-9))
    return max(0, allowed)

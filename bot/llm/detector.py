"""The event detector: which market events make the LLM worth asking, each with a cooldown.

Pure state over engine (bar) time: ``market_open`` N minutes after the RTH open,
``market_close`` N minutes before the RTH close, ``volatility_spike`` when ATR is k times its
baseline, ``news`` when a headline names a keyword or the rolling sentiment moves sharply;
``manual`` comes from a command. A cooldown starts only when the caller confirms the trigger
went out (``mark_fired``): a trigger dropped because the worker's queue was full leaves its kind
ready to fire again.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.core.sessions import CmeSessionClock, SessionEdges
from bot.llm.types import Trigger, TriggerKind
from shared.config.settings import EventsConfig
from shared.domain.models import Features

MAX_HEADLINES = 5
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_US_PER_S = 1_000_000


class EventDetector:
    """Turns bars and headlines into triggers, at most one per kind per cooldown."""

    def __init__(self, cfg: EventsConfig, clock: CmeSessionClock, bar_length: timedelta) -> None:
        self.clock = clock
        self.bar_length = bar_length
        self.last_fired: dict[TriggerKind, datetime] = {}
        self._edges: SessionEdges | None = None  # the trading day ``_rth`` last looked in
        self.apply_settings(cfg)

    def apply_settings(self, cfg: EventsConfig) -> None:
        """Use reloaded event settings from the next bar on."""
        self.cfg = cfg
        # what ``on_bar`` reads every bar, derived once per config
        self._bar_triggers = frozenset(cfg.triggers)
        self._open_offset = timedelta(minutes=cfg.market_open_offset_minutes)
        self._close_offset = timedelta(minutes=cfg.market_close_offset_minutes)
        self._cooldown = timedelta(minutes=cfg.cooldown_minutes)
        self.sentiment_lookback = timedelta(minutes=cfg.sentiment_move_minutes)
        # the same offsets in whole microseconds: ``on_bar`` shifts one integer bar time by them
        self._open_offset_us = self._open_offset // _MICROSECOND
        self._close_offset_us = self._close_offset // _MICROSECOND

    def _rth(self, ts: datetime) -> bool:
        """``clock.is_rth`` (False outside the calendar), from the trading day's edges kept
        while the times asked stay inside it (two to five asks a bar, nearly all one day)."""
        if ts.tzinfo is None:
            return False
        return self._rth_s(ts.timestamp())

    def _rth_s(self, epoch_s: float) -> bool:
        edges = self._edges
        if edges is None or not edges.start_s <= epoch_s < edges.end_s:
            try:
                edges = self._edges = self.clock.edges_at(epoch_s)
            except ValueError:
                return False
        return edges.is_rth(epoch_s)

    def _ready(self, kind: TriggerKind, now: datetime) -> bool:
        last = self.last_fired.get(kind)
        return last is None or now - last >= self._cooldown

    def _fire(self, kind: TriggerKind, now: datetime, payload: dict[str, Any]) -> Trigger | None:
        if not self._ready(kind, now):
            return None
        return Trigger(kind, now, payload)

    def mark_fired(self, trigger: Trigger) -> None:
        """Start the trigger's cooldown: call it once the trigger was queued for the worker."""
        self.last_fired[trigger.kind] = trigger.ts

    def on_bar(self, now: datetime, features: Features | None) -> list[Trigger]:
        """Triggers due at ``now`` (a bar's close time); ``mark_fired`` starts their cooldown."""
        enabled = self._bar_triggers
        found: list[Trigger | None] = []
        if now.tzinfo is not None:  # (a naive time is never in RTH)
            found.extend(self._session_triggers(now, enabled))
        ratio = features.atr_ratio if features is not None else math.nan
        if ("volatility_spike" in enabled and math.isfinite(ratio)
                and ratio >= self.cfg.volatility_spike_atr_ratio):
            found.append(self._fire(TriggerKind.VOLATILITY_SPIKE, now, {
                "atr_ratio": round(ratio, 3), "threshold": self.cfg.volatility_spike_atr_ratio}))
        return [t for t in found if t is not None]

    def _session_triggers(self, now: datetime, enabled: frozenset[str]) -> list[Trigger | None]:
        """``market_open`` / ``market_close`` at ``now`` (aware)."""
        found: list[Trigger | None] = []
        now_s, open_s, before_open_s, close_s, before_close_s = self._marks_s(now)
        if ("market_open" in enabled and self._rth_s(open_s)
                and not self._rth_s(before_open_s)):
            found.append(self._fire(TriggerKind.MARKET_OPEN, now, {
                "minutes_after_open": self.cfg.market_open_offset_minutes}))
        if ("market_close" in enabled and self._rth_s(now_s) and not self._rth_s(close_s)
                and self._rth_s(before_close_s)):
            found.append(self._fire(TriggerKind.MARKET_CLOSE, now, {
                "minutes_before_close": self.cfg.market_close_offset_minutes}))
        return found

    def _marks_s(self, now: datetime) -> tuple[float, float, float, float, float]:
        """Epoch seconds of ``now``, ``now`` - open offset, a bar before that, ``now`` + close
        offset and a bar before that, each the float ``datetime.timestamp`` gives for the
        datetime ``now -/+ offset``: for a UTC time (every engine time) from one conversion
        and exact integer microseconds (``us / 10**6`` is timestamp's own correctly rounded
        division), for another zone by that zone's own datetime arithmetic."""
        if now.tzinfo is UTC:
            now_us = (now - _EPOCH) // _MICROSECOND
            bar_us = self.bar_length // _MICROSECOND
            open_us, close_us = now_us - self._open_offset_us, now_us + self._close_offset_us
            return (now_us / _US_PER_S, open_us / _US_PER_S, (open_us - bar_us) / _US_PER_S,
                    close_us / _US_PER_S, (close_us - bar_us) / _US_PER_S)
        open_mark, close_mark = now - self._open_offset, now + self._close_offset
        return (now.timestamp(), open_mark.timestamp(),
                (open_mark - self.bar_length).timestamp(), close_mark.timestamp(),
                (close_mark - self.bar_length).timestamp())

    def on_headlines(self, headlines: list[str], now: datetime) -> list[Trigger]:
        """A news trigger when any new headline names a configured keyword."""
        if "news" not in self.cfg.triggers or not self.cfg.news_keywords:
            return []
        pattern = re.compile(
            r"\b(" + "|".join(re.escape(k) for k in self.cfg.news_keywords) + r")\b",
            re.IGNORECASE,
        )
        matched = [h for h in headlines if pattern.search(h)]
        if not matched:
            return []
        keywords = sorted({m.group(0).upper() for h in matched for m in pattern.finditer(h)})
        trigger = self._fire(TriggerKind.NEWS, now, {
            "headlines": matched[-MAX_HEADLINES:], "keywords": keywords})
        return [trigger] if trigger is not None else []

    def on_sentiment(self, now: datetime, sentiment: float, earlier: float) -> list[Trigger]:
        """A news trigger when the rolling sentiment moved by the configured step (0 = off)."""
        step, move = self.cfg.sentiment_move_threshold, sentiment - earlier
        if "news" not in self.cfg.triggers or step <= 0 or abs(move) < step:
            return []
        trigger = self._fire(TriggerKind.NEWS, now, {
            "sentiment": round(sentiment, 3), "sentiment_move": round(move, 3),
            "over_minutes": self.cfg.sentiment_move_minutes})
        return [trigger] if trigger is not None else []

    def manual(self, now: datetime, payload: dict[str, Any], command_id: int | None) -> Trigger:
        """A trigger asked for by the user (no cooldown)."""
        return Trigger(TriggerKind.MANUAL, now, payload, command_id)

    def cooldowns(self, now: datetime) -> dict[str, dict[str, Any]]:
        """Last trigger and cooldown minutes left, per kind."""
        cooldown = timedelta(minutes=self.cfg.cooldown_minutes)
        state = {}
        for kind, last in self.last_fired.items():
            left_min = max(0.0, (last + cooldown - now).total_seconds() / 60)
            state[kind.value] = {"last": last.isoformat(), "cooldown_left_min": left_min}
        return state

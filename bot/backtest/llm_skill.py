"""The calibration ledger inside a backtest: the run's own answers scored from the data.

Same scoring as live (``bot.learning.calibration``), with closes read from the bars instead of
the journal. A reply's skill is measured when it is put in force, from the answers whose
horizon ended by then (no look-ahead).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from bot.backtest.data import BarData
from bot.core.llm_reply import LlmReply
from shared.config.settings import LlmConfig
from shared.domain.calibration import ScoredCall, calibration, score, skill, skill_before
from shared.domain.call_outcome import HORIZON_MINUTES

_NS_PER_MINUTE = 60 * 10**9
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def epoch_ns(ts: datetime) -> int:
    """A tz-aware time as integer nanoseconds since the epoch (as ``BarData.ts_ns``)."""
    return (ts - _EPOCH) // timedelta(microseconds=1) * 1000


class BacktestLedger:
    """The answers a backtest got, scored once their horizon is in the data."""

    def __init__(self, data: BarData, cfg: LlmConfig) -> None:
        self.data = data
        self.cfg = cfg
        self.scored: list[ScoredCall] = []

    def _close_at_ns(self, ts_ns: int) -> float | None:
        index = int(np.searchsorted(self.data.ts_ns, ts_ns))
        if index < len(self.data) and int(self.data.ts_ns[index]) == ts_ns:
            return float(self.data.close[index])
        return None

    def note(self, reply: LlmReply, at: datetime, trigger: str, model: str, call_id: int
             ) -> None:
        """Score one answer about the bar at ``at`` (skipped: its horizon is not in the data)."""
        now_ns = epoch_ns(at)
        now = self._close_at_ns(now_ns)
        later = self._close_at_ns(now_ns + HORIZON_MINUTES * _NS_PER_MINUTE)
        if now is None or later is None:
            return
        outcome, hit = score(reply.bias.value, later - now)
        self.scored.append(ScoredCall(call_id, at, trigger, model, self.cfg.mode,
                                      reply.bias.value, min(1.0, max(0.0, reply.confidence)),
                                      outcome, hit))

    def skill_at(self, now: datetime) -> float:
        """The measured skill from answers whose horizon ended by ``now``."""
        return skill_before(self.scored, now, self.cfg.skill_min_calls)

    def metrics(self) -> dict[str, float | int | None]:
        """The run's calibration as ``llm_*`` metrics (hit rate, Brier, base rate, skill)."""
        figures = calibration(self.scored)

        def rounded(value: float | None) -> float | None:
            return None if value is None else round(value, 4)

        return {"llm_scored_calls": figures.calls, "llm_hit_rate": rounded(figures.hit_rate),
                "llm_brier": rounded(figures.brier), "llm_base_rate": rounded(figures.base_rate),
                "llm_skill": round(skill(self.scored, self.cfg.skill_min_calls), 4)}

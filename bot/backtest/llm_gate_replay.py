"""``--llm replay`` of the per-signal gate: the live bot's gate answers at the bars it had them.

Each journaled answer (``llm_gate_answer``) is handed to the engine's gate before the first
decision after the bot took it, as the live LLM service did; the questions the replayed engine
asks are dropped (their answers are already in the journal). While a candidate is held, no bar
is skipped and each bar gets its exact features, so the bar that decides it is evaluated.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

from bot.core.engine import TradingEngine
from bot.core.llm_gate import GateAnswer
from shared.domain.models import Bias, Side
from shared.persistence.llm_gate_store import JournalGateAnswer


@dataclass(order=True, slots=True)
class _DueAnswer:
    index: int
    seq: int
    answer: GateAnswer = field(compare=False)


class GateReplay:
    """The journal's gate answers, due bar by bar."""

    def __init__(self) -> None:
        self._due: list[_DueAnswer] = []
        self.held = False  # a candidate was held after the last evaluated bar
        self.given = 0

    def add(self, row: JournalGateAnswer, due: int) -> None:
        """Schedule one journaled answer for bar ``due`` (the first decided after it)."""
        bias = Bias(row.bias) if row.bias else None
        answer = GateAnswer(Side(row.side), row.asked_at, bias, row.confidence, row.call_id,
                            row.error)
        heapq.heappush(self._due, _DueAnswer(due, len(self._due) + self.given, answer))

    def before_bar(self, engine: TradingEngine, index: int) -> None:
        """Give the gate every answer the live bot had before this bar's decision."""
        while self._due and self._due[0].index <= index:
            engine.llm_gate.give(heapq.heappop(self._due).answer)
            self.given += 1

    def after_bar(self, engine: TradingEngine) -> None:
        """Drop the replayed engine's questions; note whether a candidate is held."""
        engine.llm_gate.take_asks()
        self.held = engine.llm_gate.pending is not None

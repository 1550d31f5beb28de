"""Entry gates: small, named objects the engine consults on an entry risk approved, each able
only to refuse it (DESIGN §3, "Layers as named gates").

``PlaceboGate`` is the evaluation harness's placebo: it refuses exactly ``count`` of the first
``pool`` entries it is asked about, chosen uniformly at random by its seed (selection sampling:
entry ``i`` is refused with probability ``(count - refused) / (pool - i)``), so a layer can be
compared with refusing the same number of entries at random. Seeded: the same seed and the same
sequence of entries give the same refusals.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

import numpy as np

from shared.domain.models import Side

PLACEBO_RULE = "placebo"  # the rule recorded when the placebo refuses an entry


class EntryGate(Protocol):
    """A named gate that may only refuse an entry (never move a stop, target or size)."""

    name: str

    def allows(self, side: Side, now: datetime) -> bool:
        """Whether the entry decided at ``now`` on ``side`` may go ahead."""
        ...


class PlaceboGate:
    """Refuses ``count`` of the first ``pool`` entries at random (seeded); allows the rest."""

    name = PLACEBO_RULE

    def __init__(self, seed: int, count: int, pool: int) -> None:
        if count < 0 or pool < 0:
            raise ValueError(f"placebo count {count} and pool {pool} must not be negative")
        self.seed, self.count, self.pool = seed, min(count, pool), pool
        self._draws = np.random.default_rng(np.random.SeedSequence([seed, count, pool]))
        self.asked = 0
        self.refused = 0

    def allows(self, side: Side, now: datetime) -> bool:
        """Refuse this entry with probability (still to refuse) / (still to come)."""
        del side, now  # a placebo ignores what it is asked about
        remaining = self.pool - self.asked
        self.asked += 1
        if remaining <= 0 or self.refused >= self.count:
            return True
        if float(self._draws.random()) * remaining < self.count - self.refused:
            self.refused += 1
            return False
        return True

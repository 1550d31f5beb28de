"""The placebo gate refuses exactly the requested number of entries, at random, by its seed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.core.gates import PlaceboGate
from shared.domain.models import Side

pytestmark = pytest.mark.unit
START = datetime(2024, 1, 2, 15, 0, tzinfo=UTC)


def refused_positions(gate: PlaceboGate, asked: int) -> list[int]:
    return [i for i in range(asked)
            if not gate.allows(Side.LONG, START + timedelta(minutes=i))]


@pytest.mark.parametrize(("count", "pool"), [(0, 10), (1, 1), (7, 20), (20, 20), (150, 400)])
def test_it_refuses_exactly_count_of_the_pool(count, pool):
    gate = PlaceboGate(seed=3, count=count, pool=pool)
    refused = refused_positions(gate, pool + 25)  # entries past the pool are always allowed
    assert len(refused) == count == gate.refused
    assert all(position < pool for position in refused)
    assert gate.asked == pool + 25


def test_the_same_seed_refuses_the_same_entries_and_another_seed_others():
    first = refused_positions(PlaceboGate(11, 30, 100), 100)
    again = refused_positions(PlaceboGate(11, 30, 100), 100)
    other = refused_positions(PlaceboGate(12, 30, 100), 100)
    assert first == again
    assert first != other and len(other) == 30


def test_refusals_are_spread_uniformly_over_the_pool():
    hits = [0] * 10
    for seed in range(400):
        for position in refused_positions(PlaceboGate(seed, 3, 10), 10):
            hits[position] += 1
    # each position is refused with probability 3/10: 120 of 400 expected (sd ~9)
    assert all(80 < h < 160 for h in hits), hits


def test_more_to_refuse_than_the_pool_refuses_the_whole_pool():
    gate = PlaceboGate(1, 9, 4)
    assert len(refused_positions(gate, 6)) == 4


def test_a_negative_count_is_refused():
    with pytest.raises(ValueError, match="must not be negative"):
        PlaceboGate(1, -1, 4)

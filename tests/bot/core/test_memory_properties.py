"""Rule 4.9 as a property: memory can only refuse an entry or scale its confidence.

Each example takes a bar where the strategies fire, a memory drawn at random (stored setups
near and far from real ones, either side, any buckets, wins and losses of any size and age) and
a random ``memory`` config; it runs the real engine on that bar with and without memory and
compares the orders. Stop and target never change; the size changes only through the existing
confidence rule (halved below ``confidence_threshold``) applied to the memory-adjusted
confidence; an entry memory lets through has the signal's side.
"""

from __future__ import annotations

import math
from datetime import timedelta

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.adapters.journal import MemoryJournal
from bot.adapters.paper_broker import PaperBroker
from bot.core import risk
from bot.core.engine import MEMORY_RULE, TradingEngine
from bot.core.memory import FEATURE_SCHEMA_VERSION, MemoryIndex, setup_vector
from bot.core.sessions import CmeSessionClock
from shared.config.settings import Settings, settings_from_mapping
from shared.domain.instruments import get_instrument
from shared.domain.memory import MemoryOutcome, MemoryRow, MemorySetup
from shared.domain.models import (
    Action,
    OrderPlan,
    OrderRole,
    Side,
    TimeBucket,
    TrendLabel,
    Verdict,
    VolatilityLabel,
)
from tests.conftest import synthetic_bars

ACTIVE = {"risk": {"max_hold_minutes": 10, "max_trades_per_day": 40}}
WINDOW = 500
BUCKETS = st.tuples(st.sampled_from([b.value for b in TimeBucket]),
                    st.sampled_from([v.value for v in VolatilityLabel]),
                    st.sampled_from([t.value for t in TrendLabel]))
STORED = st.fixed_dictionaries({
    "pool": st.integers(-3, 10_000), "noise": st.sampled_from([0.0, 0.01, 0.1, 1.0, 10.0]),
    "side": st.sampled_from(list(Side)), "same_bucket": st.booleans(), "buckets": BUCKETS,
    "pnl_cents": st.integers(-50_000, 50_000), "age_hours": st.floats(0.01, 5000),
})
MEMORY_CONFIG = st.fixed_dictionaries({
    "enabled": st.just(True), "min_similar_trades": st.integers(0, 6),
    "min_weighted_win_rate": st.floats(0, 1), "max_adjustment": st.floats(0, 0.5),
    "cold_start": st.sampled_from(["allow", "refuse"]), "cold_start_setups": st.integers(0, 8),
    "radius": st.floats(0.05, 5), "bandwidth": st.floats(0.05, 3),
    "half_life_days": st.floats(0.1, 100),
})


@pytest.fixture(scope="module")
def world() -> dict:
    settings = settings_from_mapping(ACTIVE, env={})
    clock = CmeSessionClock()
    bars = synthetic_bars(1300)
    probe = fresh_engine(settings, clock, [])
    vectors = []
    for bar in bars:
        record = probe.on_bar(bar)
        if record.signal_action is not Action.HOLD and probe.last_features is not None:
            vectors.append(setup_vector(probe.last_features))
    signal_bars = [i for i, d in enumerate(probe.journal.decisions)
                   if i >= WINDOW and d.signal_action is not Action.HOLD]
    world = {"settings": settings, "clock": clock, "bars": bars, "signal_bars": signal_bars,
             "pool": np.float32(vectors)}
    world["entry_bars"] = [i for i in signal_bars if plain_decision(world, i)[1]]
    assert len(world["entry_bars"]) >= 5 and len(vectors) >= 20
    return world


def fresh_engine(settings: Settings, clock: CmeSessionClock, history,
                 memory: MemoryIndex | None = None) -> TradingEngine:
    engine = TradingEngine(settings, PaperBroker(get_instrument("MES"), 62, 1), MemoryJournal(),
                           clock, memory=memory)
    engine.warm_up(history)
    return engine


def decide(world: dict, index: int, settings: Settings, memory: MemoryIndex | None = None):
    bars = world["bars"]
    engine = fresh_engine(settings, world["clock"], bars[index - WINDOW:index], memory)
    record = engine.on_bar(bars[index])
    entries = [e.order for e in engine.journal.orders if e.order.role is OrderRole.ENTRY]
    stops = [e.order.price for e in engine.journal.orders if e.order.role is OrderRole.STOP]
    targets = [e.order.price for e in engine.journal.orders if e.order.role is OrderRole.TARGET]
    orders = [(o.side, o.contracts, s, t) for o, s, t in zip(entries, stops, targets,
                                                             strict=True)]
    return record, orders


def own_vector(world: dict, index: int) -> np.ndarray:
    """The setup vector of the decision on bar ``index``."""
    return np.float32(setup_vector(features_once(world, index)))


def memory_from(world: dict, stored: list[dict], index: int, labels: dict) -> MemoryIndex:
    """A memory of ``stored`` setups (a negative pool index: near the decision's own setup)."""
    decided = world["bars"][index].ts + timedelta(seconds=5)
    rng = np.random.default_rng(len(stored))
    own = own_vector_once(world, index) if any(item["pool"] < 0 for item in stored) else None
    rows = []
    for number, item in enumerate(stored):
        base = own if item["pool"] < 0 else world["pool"][item["pool"] % len(world["pool"])]
        vector = base + np.float32(rng.normal(0, 1, base.shape) * item["noise"])
        buckets = ((labels["time_bucket"], labels["volatility"], labels["trend"])
                   if item["same_bucket"] else item["buckets"])
        closed = decided - timedelta(hours=item["age_hours"])
        setup = MemorySetup(closed - timedelta(minutes=5), item["side"], FEATURE_SCHEMA_VERSION,
                            tuple(float(v) for v in np.float32(vector)), buckets)
        outcome = MemoryOutcome(item["pnl_cents"], item["pnl_cents"] / 5000, "stop", closed)
        rows.append(MemoryRow(f"m{number}", setup, 5000, outcome))
    rows.sort(key=lambda r: r.outcome.close_ts)
    return MemoryIndex.from_rows(rows)


def expected_order(world: dict, index: int, record, sizing_confidence: float):
    """Side, size, stop and target the risk manager gives at ``sizing_confidence``."""
    settings = world["settings"]
    features = features_once(world, index)
    bar = world["bars"][index]
    request = risk.EntryRequest(
        action=record.signal_action, confidence=1.0, close=bar.close,
        atr_points=features.atr_points, now=bar.ts, minutes_to_close=1e9, regime_tradable=True,
        regime_reasons=(), position=None, entry_pending=False,
        sizing_confidence=sizing_confidence, bar_seconds=settings.feed.bar_seconds,
    )
    plan = risk.plan_entry(request, risk.RiskState(), settings.risk, get_instrument("MES"))
    assert isinstance(plan, OrderPlan)
    return (plan.side, plan.contracts, plan.stop_price, plan.target_price)


def features_once(world: dict, index: int):
    """The live features on bar ``index`` from a fresh engine, computed once per bar (they
    depend on the bar's window alone, and examples draw the same bars again and again)."""
    cache = world.setdefault("features", {})
    if index not in cache:
        engine = fresh_engine(world["settings"], world["clock"],
                              world["bars"][index - WINDOW:index + 1])
        cache[index] = engine.live_features.features()
    return cache[index]


def own_vector_once(world: dict, index: int) -> np.ndarray:
    """``own_vector`` of bar ``index``, computed once per bar (it depends on the bar alone)."""
    cache = world.setdefault("own_vector", {})
    if index not in cache:
        cache[index] = own_vector(world, index)
    return cache[index].copy()


def plain_decision(world: dict, index: int):
    """``decide`` on bar ``index`` with the base settings, computed once per bar: it depends on
    the bar alone (a fresh engine each time), and examples draw the same bars again and again."""
    cache = world.setdefault("plain", {})
    if index not in cache:
        cache[index] = decide(world, index, world["settings"])
    return cache[index]


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), stored=st.lists(STORED, max_size=40), memory_cfg=MEMORY_CONFIG)
def test_memory_only_refuses_or_scales_confidence(world, data, stored, memory_cfg):
    index = data.draw(st.sampled_from(world["entry_bars"]) | st.sampled_from(world["signal_bars"]),
                      label="bar")
    base = world["settings"]
    plain, plain_orders = plain_decision(world, index)
    with_memory = base.model_copy(update={"memory": base.memory.model_validate(memory_cfg)})
    memory = memory_from(world, stored, index, plain.labels)
    mem, mem_orders = decide(world, index, with_memory, memory)
    bound = with_memory.memory.max_adjustment

    assert (mem.signal_action, mem.signal_confidence) == (plain.signal_action,
                                                          plain.signal_confidence)
    assert -bound - 1e-12 <= mem.memory_adjustment <= bound + 1e-12
    assert math.isfinite(mem.final_confidence) and 0.0 <= mem.final_confidence <= 1.0
    assert mem.final_confidence == pytest.approx(
        min(1.0, max(0.0, plain.final_confidence + mem.memory_adjustment)), abs=1e-12)
    for side, *_ in mem_orders:
        assert side is Side.from_action(plain.signal_action)
    if mem_orders:  # sized by the same confidence rule, at the memory-adjusted confidence
        sizing = min(1.0, max(0.0, plain.signal_confidence + mem.memory_adjustment))
        assert mem_orders == [expected_order(world, index, plain, sizing)]
    if plain_orders and mem_orders:
        assert [(o[0], o[2], o[3]) for o in mem_orders] == [(o[0], o[2], o[3])
                                                           for o in plain_orders]
    elif mem_orders:  # memory lifted the confidence over the entry gate
        assert plain.risk_rule == risk.RiskRule.CONFIDENCE and mem.memory_adjustment > 0
    elif plain_orders:  # memory refused, or lowered the confidence under the gate
        assert mem.risk_rule == MEMORY_RULE or (
            mem.risk_rule == risk.RiskRule.CONFIDENCE and mem.memory_adjustment < 0)
    if mem.risk_rule == MEMORY_RULE:
        assert mem.verdict is Verdict.REJECT and mem.memory_adjustment == 0.0
        assert plain_orders and not mem_orders


def test_a_winning_memory_lifts_a_signal_over_the_gate_at_the_rule_size(world):
    """Anchor: a near-threshold bar really is enabled by similar winners, sized by the rule."""
    base = world["settings"]
    for index in world["signal_bars"]:
        plain, _ = decide(world, index, base)
        if plain.risk_rule == risk.RiskRule.CONFIDENCE and plain.final_confidence > 0.45:
            break
    else:
        pytest.fail("no near-threshold signal bar in the synthetic market")
    same = {"pool": -1, "noise": 0.0, "same_bucket": True, "buckets": ("open", "low", "range"),
            "pnl_cents": 2000, "side": Side.from_action(plain.signal_action)}
    stored = [{**same, "age_hours": 1.0 + i} for i in range(30)]
    memory = memory_from(world, stored, index, plain.labels)
    cfg = base.memory.model_copy(update={"enabled": True, "max_adjustment": 0.1,
                                         "cold_start_setups": 0})
    mem, orders = decide(world, index, base.model_copy(update={"memory": cfg}), memory)
    assert mem.verdict is Verdict.ENTER and 0.05 < mem.memory_adjustment <= 0.1
    sizing = plain.signal_confidence + mem.memory_adjustment
    assert orders == [expected_order(world, index, plain, sizing)]


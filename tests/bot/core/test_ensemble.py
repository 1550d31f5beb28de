"""The ensemble: weighted net of BUY against SELL, HOLD abstains, order never matters."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.ensemble import NET_EPSILON, combine
from shared.domain.models import Action, Vote

EQUAL = {"rsi_macd": 1.0, "momentum_reversal": 1.0, "breakout": 1.0}


def make_vote(strategy: str, action: Action, confidence: float = 0.0) -> Vote:
    """A vote with one reason naming it; HOLD ignores ``confidence``."""
    held = 0.0 if action is Action.HOLD else confidence
    return Vote(strategy, action, held, (f"{strategy} reason",))


def test_unanimous_buy_averages_the_confidences() -> None:
    votes = [make_vote("rsi_macd", Action.BUY, 0.8), make_vote("breakout", Action.BUY, 0.6)]
    signal = combine(votes, EQUAL)
    assert signal.action is Action.BUY
    assert signal.confidence == pytest.approx(0.7)
    assert not any(reason.startswith("conflict") for reason in signal.reasons)


def test_unanimous_sell() -> None:
    votes = [make_vote("rsi_macd", Action.SELL, 0.9), make_vote("breakout", Action.SELL, 0.5)]
    signal = combine(votes, EQUAL)
    assert (signal.action, signal.confidence) == (Action.SELL, pytest.approx(0.7))


def test_hold_votes_abstain() -> None:
    votes = [
        make_vote("rsi_macd", Action.BUY, 0.8),
        make_vote("breakout", Action.HOLD),
        make_vote("momentum_reversal", Action.HOLD),
    ]
    signal = combine(votes, EQUAL)
    assert (signal.action, signal.confidence) == (Action.BUY, pytest.approx(0.8))
    assert len(signal.votes) == 3


def test_conflict_nets_out_and_says_so() -> None:
    votes = [make_vote("rsi_macd", Action.BUY, 0.8), make_vote("breakout", Action.SELL, 0.6)]
    signal = combine(votes, EQUAL)
    assert (signal.action, signal.confidence) == (Action.BUY, pytest.approx(0.1))
    conflict = [reason for reason in signal.reasons if reason.startswith("conflict")]
    assert conflict and "rsi_macd" in conflict[0] and "breakout" in conflict[0]


def test_equal_and_opposite_votes_hold() -> None:
    votes = [make_vote("rsi_macd", Action.BUY, 0.6), make_vote("breakout", Action.SELL, 0.6)]
    signal = combine(votes, EQUAL)
    assert (signal.action, signal.confidence) == (Action.HOLD, 0.0)
    assert any(reason.startswith("conflict") for reason in signal.reasons)


def test_float_rounding_does_not_break_a_tie() -> None:
    votes = [
        make_vote("rsi_macd", Action.BUY, 0.1),
        make_vote("breakout", Action.BUY, 0.2),
        make_vote("momentum_reversal", Action.SELL, 0.3),
    ]
    signal = combine(votes, {"rsi_macd": 1.0, "breakout": 1.0, "momentum_reversal": 2.0})
    assert signal.action is Action.SELL  # 0.3 - 0.6 over 4: a real SELL, not a tie
    tie = combine(votes, EQUAL)
    assert (tie.action, tie.confidence) == (Action.HOLD, 0.0)


@pytest.mark.parametrize("votes", [[], [make_vote("rsi_macd", Action.HOLD)]])
def test_no_active_votes_hold(votes: list[Vote]) -> None:
    signal = combine(votes, EQUAL)
    assert (signal.action, signal.confidence) == (Action.HOLD, 0.0)
    assert signal.reasons == ("no active votes: every strategy holds",)


def test_unequal_weights_tilt_the_net() -> None:
    votes = [make_vote("rsi_macd", Action.BUY, 0.8), make_vote("breakout", Action.SELL, 0.8)]
    signal = combine(votes, {"rsi_macd": 3.0, "breakout": 1.0})
    assert (signal.action, signal.confidence) == (Action.BUY, pytest.approx(0.4))
    flipped = combine(votes, {"rsi_macd": 1.0, "breakout": 3.0})
    assert (flipped.action, flipped.confidence) == (Action.SELL, pytest.approx(0.4))


def test_zero_or_missing_weight_silences_a_vote() -> None:
    votes = [make_vote("rsi_macd", Action.BUY, 0.9), make_vote("breakout", Action.SELL, 0.4)]
    for weights in ({"rsi_macd": 0.0, "breakout": 1.0}, {"breakout": 1.0}):
        signal = combine(votes, weights)
        assert (signal.action, signal.confidence) == (Action.SELL, pytest.approx(0.4))
        assert not any(reason.startswith("rsi_macd") for reason in signal.reasons)


def test_only_zero_weight_voters_hold() -> None:
    votes = [make_vote("rsi_macd", Action.BUY, 0.9)]
    signal = combine(votes, {"rsi_macd": 0.0, "breakout": 1.0})
    assert (signal.action, signal.confidence) == (Action.HOLD, 0.0)
    assert "rsi_macd" in signal.reasons[0]


def test_reasons_list_each_active_vote_with_its_own_reasons() -> None:
    votes = [
        Vote("rsi_macd", Action.BUY, 0.72, ("RSI 58.0", "MACD histogram crossed up")),
        make_vote("breakout", Action.HOLD),
    ]
    signal = combine(votes, EQUAL)
    assert signal.reasons[0] == "rsi_macd buy 0.72: RSI 58.0; MACD histogram crossed up"
    assert signal.reasons[-1].startswith("net +0.72")


def test_votes_are_ordered_by_name_and_order_never_changes_the_signal() -> None:
    votes = [
        make_vote("rsi_macd", Action.BUY, 0.73),
        make_vote("breakout", Action.SELL, 0.41),
        make_vote("momentum_reversal", Action.BUY, 0.37),
    ]
    weights = {"rsi_macd": 1.3, "breakout": 0.7, "momentum_reversal": 2.9}
    signals = {combine(list(order), weights) for order in itertools.permutations(votes)}
    assert len(signals) == 1
    (signal,) = signals
    assert [vote.strategy for vote in signal.votes] == sorted(vote.strategy for vote in votes)


@pytest.mark.parametrize(
    ("votes", "weights", "message"),
    [
        ([make_vote("rsi_macd", Action.BUY, 0.5)] * 2, EQUAL, "once"),
        ([make_vote("rsi_macd", Action.BUY, 0.5)], {"rsi_macd": -1.0}, "rsi_macd"),
        ([make_vote("rsi_macd", Action.BUY, 0.5)], {"rsi_macd": math.nan}, "rsi_macd"),
        ([Vote("breakout", Action.BUY, 1.5, ())], EQUAL, r"outside \[0, 1\]"),
        ([Vote("breakout", Action.SELL, math.nan, ())], EQUAL, r"outside \[0, 1\]"),
    ],
)
def test_malformed_input_is_a_clear_error(
    votes: list[Vote], weights: dict[str, float], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        combine(votes, weights)


# --- properties -----------------------------------------------------------------------------------

NAMES = ("alpha", "breakout", "momentum_reversal", "rsi_macd", "zeta")
votes_strategy = st.lists(
    st.tuples(
        st.sampled_from(NAMES),
        st.sampled_from(list(Action)),
        st.floats(min_value=0.0, max_value=1.0),
    ),
    unique_by=lambda item: item[0],
    max_size=len(NAMES),
).map(lambda items: [make_vote(name, action, confidence) for name, action, confidence in items])
weights_strategy = st.dictionaries(
    st.sampled_from(NAMES), st.floats(min_value=0.0, max_value=100.0), max_size=len(NAMES)
)


def reference_net(votes: list[Vote], weights: dict[str, float]) -> float:
    """The weighted net computed the plain way, for comparison."""
    active = [(v, weights.get(v.strategy, 0.0)) for v in votes if v.action is not Action.HOLD]
    total = sum(weight for _, weight in active)
    if total <= 0:
        return 0.0
    signed = {Action.BUY: 1.0, Action.SELL: -1.0}
    return sum(signed[v.action] * w * v.confidence for v, w in active) / total


@settings(max_examples=500, deadline=None)
@given(votes=votes_strategy, weights=weights_strategy)
def test_signal_agrees_with_the_sign_of_the_weighted_net(
    votes: list[Vote], weights: dict[str, float]
) -> None:
    signal = combine(votes, weights)
    net = reference_net(votes, weights)
    assert 0.0 <= signal.confidence <= 1.0
    assert (signal.action is Action.HOLD) == (signal.confidence == 0.0)
    if abs(net) > 1e-9:
        assert signal.action is (Action.BUY if net > 0 else Action.SELL)
        assert signal.confidence == pytest.approx(abs(net))
    elif signal.action is not Action.HOLD:
        assert signal.confidence < 1e-9 + NET_EPSILON


@settings(max_examples=200, deadline=None)
@given(votes=votes_strategy, weights=weights_strategy, data=st.data())
def test_any_order_of_votes_gives_the_same_signal(
    votes: list[Vote], weights: dict[str, float], data: st.DataObject
) -> None:
    shuffled = data.draw(st.permutations(votes))
    assert combine(shuffled, weights) == combine(votes, weights)

"""The per-bar domain types' fast ``__init__`` builds what the dataclass ``__init__`` built."""

from __future__ import annotations

import inspect
import math
import pickle
from dataclasses import FrozenInstanceError, InitVar, dataclass, field, fields, replace
from datetime import UTC, datetime

import pytest

from shared.domain.fast_init import DATACLASS_INITS, fast_init
from shared.domain.models import (
    Action,
    Bar,
    DecisionRecord,
    Features,
    Regime,
    Signal,
    TimeBucket,
    TrendLabel,
    Verdict,
    VolatilityLabel,
    Vote,
)

pytestmark = pytest.mark.unit

TS = datetime(2025, 3, 3, 14, 30, tzinfo=UTC)
VOTE = Vote("rsi_macd", Action.BUY, 0.5, ("why",))
EXAMPLES = {
    Bar: (TS, 5000.0, 5001.25, 4999.5, 5000.75, 120.0),
    Features: (TS, *(float(i) + 0.5 for i in range(5)), 500,
               *(math.nan if i % 7 == 0 else i / 3 for i in range(len(fields(Features)) - 7))),
    Regime: (False, ("warming up",), TrendLabel.RANGE, VolatilityLabel.LOW, TimeBucket.OPEN,
             12.5),
    Vote: ("rsi_macd", Action.BUY, 0.5, ("why",)),
    Signal: (Action.BUY, 0.5, (VOTE,), ("net",)),
    DecisionRecord: (TS, "MES", 5000.75, "{}", "{}", "[]", Action.HOLD, 0.0, 0.0, 0.0, 0.0,
                     Verdict.HOLD, None, ("no strategy fired",), "none", None, {"a": "b"}),
}


def reference(cls: type, *args, **kwargs):
    """The same object built by the ``__init__`` dataclasses wrote."""
    obj = object.__new__(cls)
    DATACLASS_INITS[cls](obj, *args, **kwargs)
    return obj


def same_state(a, b) -> bool:
    """Field by field, the very same objects (NaN included)."""
    return type(a) is type(b) and all(
        getattr(a, f.name) is getattr(b, f.name) for f in fields(a))


@pytest.mark.parametrize("cls", list(EXAMPLES), ids=lambda cls: cls.__name__)
def test_positional_keyword_and_default_calls_build_what_the_dataclass_init_built(cls) -> None:
    args = EXAMPLES[cls]
    names = [f.name for f in fields(cls)]
    kwargs = dict(zip(names, args, strict=False))
    built = cls(*args)
    assert same_state(built, reference(cls, *args))
    assert same_state(cls(**kwargs), reference(cls, **kwargs))
    assert same_state(cls(*args[:2], **dict(list(kwargs.items())[2:])), built)
    assert inspect.signature(cls).parameters.keys() == inspect.signature(
        DATACLASS_INITS[cls]).parameters.keys() - {"self"}
    with pytest.raises(FrozenInstanceError):
        built.__setattr__(names[0], args[0])
    # (repr: a NaN field is unequal to itself once copied)
    assert repr(pickle.loads(pickle.dumps(built))) == repr(built) == repr(reference(cls, *args))
    assert same_state(replace(built), built)


def test_defaults_are_the_declared_ones() -> None:
    record = DecisionRecord(*EXAMPLES[DecisionRecord])
    assert (record.llm_call_id, record.rules_json, record.memory_json) == (None, "{}", "{}")
    assert same_state(record, reference(DecisionRecord, *EXAMPLES[DecisionRecord]))


def test_wrong_calls_are_refused_as_before() -> None:
    with pytest.raises(TypeError, match="missing 3 required positional arguments"):
        Vote("rsi_macd")
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
        Vote("rsi_macd", Action.BUY, 0.5, (), colour="red")
    with pytest.raises(TypeError, match="multiple values for argument 'strategy'"):
        Vote("rsi_macd", Action.BUY, 0.5, (), strategy="x")


def test_classes_it_cannot_build_alike_are_refused_at_definition() -> None:
    @dataclass(frozen=True)
    class NoSlots:
        a: int

    @dataclass(slots=True)
    class NotFrozen:
        a: int

    @dataclass(frozen=True, slots=True)
    class Factory:
        a: list = field(default_factory=list)

    @dataclass(frozen=True, slots=True)
    class PostInit:
        a: int

        def __post_init__(self) -> None:
            pass

    @dataclass(frozen=True, slots=True)
    class WithInitVar:
        a: int
        b: InitVar[int]

    for cls in (NoSlots, NotFrozen, Factory, PostInit, WithInitVar, int):
        with pytest.raises(TypeError, match="fast_init"):
            fast_init(cls)

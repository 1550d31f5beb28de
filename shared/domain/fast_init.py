"""A faster ``__init__`` for the frozen, slotted dataclasses built on every bar.

The ``__init__`` that ``dataclasses`` writes for a frozen class sets each field through
``object.__setattr__`` (its own ``__setattr__`` refuses), which costs about three times a direct
store into the field's slot. The live loop builds a ``Bar``, a ``Features`` of 35 fields, a vote
per strategy, a ``Signal``, a ``Regime`` and a 20-field ``DecisionRecord`` per bar, so
``fast_init`` replaces that ``__init__`` with one of the same signature (same parameter names,
order and defaults) that stores each argument straight into its slot. The class stays the same
frozen dataclass: ``fields``, ``replace``, equality, hashing, pickling and the refusal of an
assignment after construction are untouched, and a test checks the objects equal those of the
generated ``__init__``. A class the plain store cannot build alike (``__post_init__``, a default
factory, a keyword-only, ``init=False`` or ``InitVar`` field, not frozen or not slotted) is
refused when the module is imported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import MISSING, fields, is_dataclass
from typing import Any, TypeVar

T = TypeVar("T")

# the __init__ each decorated class had from ``dataclasses`` (tests compare the two)
DATACLASS_INITS: dict[type, Callable[..., None]] = {}


def fast_init(cls: type[T]) -> type[T]:
    """Give a frozen slotted dataclass an ``__init__`` storing straight into its slots."""
    _check_supported(cls)
    names: list[str] = []
    params: list[str] = []
    namespace: dict[str, Any] = {}
    for index, field in enumerate(fields(cls)):  # type: ignore[arg-type]
        names.append(field.name)
        namespace[f"_set_{index}"] = getattr(cls, field.name).__set__  # the slot's own store
        if field.default is MISSING:
            params.append(field.name)
        else:
            namespace[f"_default_{index}"] = field.default
            params.append(f"{field.name}=_default_{index}")
    body = "".join(f"    _set_{index}(self, {name})\n" for index, name in enumerate(names))
    source = f"def __init__(self, {', '.join(params)}) -> None:\n" + (body or "    pass\n")
    exec(source, namespace)  # noqa: S102 - the same technique dataclasses uses for its __init__
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    init.__doc__ = cls.__init__.__doc__
    DATACLASS_INITS[cls] = cls.__init__  # type: ignore[misc]
    cls.__init__ = init  # type: ignore[misc]
    return cls


def _check_supported(cls: type) -> None:
    """Refuse a class whose construction is more than storing each argument in its slot."""
    if not is_dataclass(cls):
        raise TypeError(f"fast_init: {cls.__name__} is not a dataclass")
    problems = []
    if not cls.__dataclass_params__.frozen:  # type: ignore[attr-defined]
        problems.append("not frozen")
    if "__slots__" not in cls.__dict__:
        problems.append("not slotted")
    if hasattr(cls, "__post_init__"):
        problems.append("has __post_init__")
    declared = cls.__dataclass_fields__  # type: ignore[attr-defined]
    if len(declared) != len(fields(cls)):
        problems.append("has InitVar or ClassVar pseudo-fields")
    for field in fields(cls):
        if field.default_factory is not MISSING or not field.init or field.kw_only:
            problems.append(f"field {field.name} has a default factory, init=False or kw_only")
    if problems:
        raise TypeError(f"fast_init cannot build {cls.__name__}: {'; '.join(problems)}")

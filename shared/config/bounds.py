"""Finite, bounded numbers in every config model (DESIGN §4 rule 13).

``.inf``, ``nan`` or ``1e308`` pass a ``gt=0`` check and then overflow inside the engine
(``timedelta(minutes=1e308)``, ``int(inf)``) while a position is open. So every model of the
config and of the run requests derives from ``BoundedModel``: NaN and ±infinity are refused by
pydantic itself (``allow_inf_nan=False``, which also reaches numbers inside dicts and lists), and a
field with no upper bound of its own gets one from the unit its name ends in (``_minutes``,
``_days``, ``_usd``...; the project names numbers with their units) or, without a unit, a default
magnitude. A new numeric field is covered without a line of its own; a field with an explicit
``le``/``lt`` keeps that bound.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from annotated_types import Le, Lt
from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

DEFAULT_MAX_MAGNITUDE = 1e9
_YEARS_100_DAYS = 36_500
# Name suffix -> the largest magnitude a field ending so may hold, and what it means. Time
# bounds are a century: far beyond any sane setting, far inside datetime's range (year 9999).
UNIT_BOUNDS: tuple[tuple[str, float, str], ...] = (
    ("_days", _YEARS_100_DAYS, "100 years"),
    ("_hours", _YEARS_100_DAYS * 24, "100 years"),
    ("_minutes", _YEARS_100_DAYS * 24 * 60, "100 years"),
    ("_seconds", _YEARS_100_DAYS * 24 * 3600, "100 years"),
    ("_s", _YEARS_100_DAYS * 24 * 3600, "100 years"),
    ("_ms", _YEARS_100_DAYS * 24 * 3600 * 1000, "100 years"),
    ("_usd", DEFAULT_MAX_MAGNITUDE, "a billion dollars"),
)


def magnitude_bound(field_name: str) -> tuple[float, str]:
    """The largest magnitude ``field_name`` may hold, and its meaning for the error line."""
    for suffix, bound, meaning in UNIT_BOUNDS:
        if field_name.endswith(suffix):
            return bound, meaning
    return DEFAULT_MAX_MAGNITUDE, "the default bound of a config number"


def has_own_upper_bound(model: type[BaseModel], field_name: str) -> bool:
    """Whether the field declares ``le``/``lt`` itself (then that bound is the one in force)."""
    field = model.model_fields.get(field_name)
    return field is not None and any(isinstance(m, Le | Lt) for m in field.metadata)


def _numbers(value: Any, where: str = "") -> list[tuple[str, float | int]]:
    """Every number in ``value`` with the key path inside the field ('' for the field itself):
    itself, or the values of a dict or list (nested)."""
    if isinstance(value, bool) or value is None:
        return []
    if isinstance(value, int | float):
        return [(where, value)]
    if isinstance(value, Mapping):
        items: Any = value.items()
    elif isinstance(value, list | tuple):
        items = enumerate(value)
    else:
        return []
    return [found for key, item in items
            for found in _numbers(item, f"{where}.{key}" if where else str(key))]


def bound_problem(number: float | int, bound: float, meaning: str) -> str | None:
    """Why ``number`` is refused (not finite, or beyond ``bound``), or None."""
    if isinstance(number, float) and not math.isfinite(number):
        return "must be a finite number"
    if abs(number) > bound:
        return f"{number:g} is out of range: at most {bound:,.0f} ({meaning})"
    return None


class BoundedModel(BaseModel):
    """Base of every config section and run request: finite numbers, each with a bound."""

    model_config = ConfigDict(allow_inf_nan=False)

    @field_validator("*", mode="after")
    @classmethod
    def _bounded(cls, value: Any, info: ValidationInfo) -> Any:
        name = info.field_name or ""
        if has_own_upper_bound(cls, name):
            return value
        bound, meaning = magnitude_bound(name)
        for where, number in _numbers(value):
            problem = bound_problem(number, bound, meaning)
            if problem is not None:
                raise ValueError(f"{where}: {problem}" if where else problem)
        return value

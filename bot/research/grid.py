"""Parameter grids: ``--grid key=v1,v2`` flags or a YAML file, every combination, and their hashes.

A point is a dict of ``--param`` overrides. Its hash (SHA-256 of the sorted JSON of the
parameters, with the task's seed and window) names the task on every backend, so results can be
sorted the same way whatever the number of workers or the order they finish in.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from shared.domain.errors import ConfigError


def parse_grid_flags(items: Sequence[str]) -> dict[str, list[str]]:
    """``["stop_atr=1.5,2,3", "fast=5,10"]`` -> ``{"stop_atr": ["1.5", "2", "3"], ...}``."""
    grid: dict[str, list[str]] = {}
    for item in items:
        key, sep, values = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"--grid {item!r}: expected KEY=V1,V2,...")
        if key in grid:
            raise ConfigError(f"--grid {key}: given twice")
        grid[key] = [value.strip() for value in values.split(",")]
    return grid


def load_grid_file(path: Path) -> dict[str, list[str]]:
    """A YAML mapping of KEY to a list of values (or a ``v1,v2`` string)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"--grid-file {path}: no such file") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"--grid-file {path}: not readable YAML ({exc})") from None
    if not isinstance(data, dict) or not data:
        raise ConfigError(f"--grid-file {path}: expected a mapping of KEY: [values]")
    grid = {}
    for key, values in data.items():
        if isinstance(values, str):
            values = values.split(",")
        if not isinstance(values, list):
            values = [values]
        grid[str(key)] = [_text(value) for value in values]
    return grid


def _text(value: Any) -> str:
    """A YAML value back to --param text (``1.5``, ``true``, ``[a, b]``)."""
    if isinstance(value, str):
        return value.strip()
    return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()


def parameter_grid(grid: Mapping[str, Sequence[str]]) -> list[dict[str, str]]:
    """Every combination of the grid's values, as --param dicts, in a stable order."""
    if not grid or any(len(values) == 0 for values in grid.values()):
        raise ConfigError("the parameter grid needs at least one value for every key")
    keys = sorted(grid)
    return [dict(zip(keys, combo, strict=True))
            for combo in itertools.product(*(grid[k] for k in keys))]


def task_hash(kind: str, params: Mapping[str, str], seed: int, extra: object = None) -> str:
    """The stable name of one task: what it runs, on what, with which seed."""
    text = json.dumps({"kind": kind, "params": dict(sorted(params.items())), "seed": seed,
                       "extra": extra}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]

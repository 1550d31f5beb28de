"""Monte Carlo of a trade sequence: reshuffled or resampled orders, their P&L and drawdowns.

Methods: ``shuffle`` (the same trades in a random order: the final P&L never changes, the path
and its drawdown do), ``bootstrap`` (trades drawn with replacement) and ``block`` (circular
block bootstrap: runs of ``block_length`` consecutive trades, from random starts, wrapping
around the end, keep the clustering of wins and losses). Each run starts at the starting equity;
it is ruined when its equity touches ``ruin_equity`` or less after some trade.

Runs are split into fixed chunks of ``CHUNK_RUNS``, each seeded from ``SeedSequence(seed)``
spawned in order, so the result is the same whatever the number of workers or the backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from bot.research.grid import task_hash
from bot.research.scaleout import Backend, LocalBackend, Progress, StopCheck, run_many
from shared.domain.errors import ConfigError

PERCENTILES = (5, 25, 50, 75, 95)
CHUNK_RUNS = 2000
FAN_PATHS_PER_CHUNK = 50
FAN_POINTS = 200
METHODS = ("shuffle", "bootstrap", "block")


@dataclass(frozen=True)
class MonteCarloTask:
    """``runs`` simulations seeded by ``seed_words`` (a spawned SeedSequence state)."""

    key: str
    method: str
    block_length: int
    runs: int
    seed_words: tuple[int, ...]
    starting_cents: int
    ruin_cents: int


@dataclass(frozen=True, eq=False)
class ChunkResult:
    """Final P&L, max drawdown (<= 0) and ruin of every run; a few equity paths for a fan."""

    final_pnl_cents: np.ndarray
    max_drawdown_cents: np.ndarray
    ruined: np.ndarray
    fan_paths: np.ndarray  # (paths, points) equity in cents at ``fan_index`` trades


@dataclass(frozen=True)
class MonteCarloResult:
    """Percentiles of final P&L and max drawdown (cents), ruin probability, fan chart bands."""

    runs: int
    method: str
    block_length: int
    final_pnl_cents: dict[int, float]
    max_drawdown_cents: dict[int, float]
    probability_of_ruin: float
    starting_equity_cents: int
    ruin_equity_cents: int
    fan_trades: tuple[int, ...] = ()
    fan_bands: dict[int, tuple[float, ...]] = field(default_factory=dict)


def fan_index(trades: int, points: int = FAN_POINTS) -> np.ndarray:
    """Trade counts (0 .. trades) at which the fan chart samples equity."""
    return np.unique(np.linspace(0, trades, min(points, trades + 1)).round().astype(int))


def resample(pnl: np.ndarray, method: str, block_length: int, runs: int,
             rng: np.random.Generator) -> np.ndarray:
    """A (runs, trades) array of trade P&Ls in simulated orders."""
    count = len(pnl)
    if method == "shuffle":
        return rng.permuted(np.broadcast_to(pnl, (runs, count)), axis=1)
    if method == "bootstrap" or block_length <= 1:
        return pnl[rng.integers(0, count, size=(runs, count))]
    if method != "block":
        raise ConfigError(f"Monte Carlo method {method!r}; known: {', '.join(METHODS)}")
    blocks = -(-count // block_length)
    starts = rng.integers(0, count, size=(runs, blocks))
    index = (starts[:, :, None] + np.arange(block_length)) % count
    return pnl[index.reshape(runs, blocks * block_length)[:, :count]]


def run_chunk(task: MonteCarloTask, pnl: np.ndarray) -> ChunkResult:
    """Simulate one chunk (what a worker does)."""
    pnl = np.require(pnl, requirements="CA")  # a worker's received buffer may be unaligned
    rng = np.random.default_rng(np.random.SeedSequence(task.seed_words))
    draws = resample(pnl, task.method, task.block_length, task.runs, rng)
    equity = np.cumsum(draws, axis=1)
    final = equity[:, -1].copy()
    peaks = np.maximum.accumulate(np.maximum(equity, 0), axis=1)  # the start (0) is a peak
    drawdown = np.minimum((equity - peaks).min(axis=1), 0)
    ruined = (equity.min(axis=1) + task.starting_cents) <= task.ruin_cents
    with_start = np.concatenate([np.zeros((task.runs, 1), dtype=equity.dtype), equity], axis=1)
    fan = with_start[:FAN_PATHS_PER_CHUNK][:, fan_index(len(pnl))] + task.starting_cents
    return ChunkResult(final, drawdown, ruined, fan)


def chunk_tasks(method: str, block_length: int, runs: int, seed: int, starting_cents: int,
                ruin_cents: int) -> list[MonteCarloTask]:
    """The fixed chunks of a Monte Carlo run, each with its own spawned seed."""
    if method not in METHODS:
        raise ConfigError(f"Monte Carlo method {method!r}; known: {', '.join(METHODS)}")
    if runs < 1 or block_length < 1:
        raise ConfigError("Monte Carlo needs at least one run and a block of one trade or more")
    sizes = [min(CHUNK_RUNS, runs - start) for start in range(0, runs, CHUNK_RUNS)]
    seeds = np.random.SeedSequence(seed).spawn(len(sizes))
    tasks = []
    for number, (size, child) in enumerate(zip(sizes, seeds, strict=True)):
        words = tuple(int(w) for w in child.generate_state(4))
        key = task_hash("monte_carlo", {"method": method, "block": str(block_length),
                                        "chunk": str(number)}, seed, size)
        tasks.append(MonteCarloTask(key, method, block_length, size, words, starting_cents,
                                    ruin_cents))
    return tasks


def monte_carlo(
    pnl_cents: Sequence[int], runs: int = 1000, seed: int = 7,
    percentiles: Sequence[int] = PERCENTILES, method: str = "bootstrap", block_length: int = 1,
    starting_equity_cents: int = 0, ruin_equity_cents: int | None = None,
    backend: Backend | None = None, progress: Progress | None = None,
    should_stop: StopCheck | None = None,
) -> MonteCarloResult:
    """Simulate ``runs`` orders of the trades; percentiles, ruin probability and fan bands.

    Ruin (default level: 0) needs a starting equity above it to mean anything.
    """
    if not pnl_cents:
        raise ConfigError("Monte Carlo needs at least one trade")
    ruin = 0 if ruin_equity_cents is None else ruin_equity_cents
    pnl = np.asarray(pnl_cents, dtype=np.int64)
    tasks = chunk_tasks(method, block_length, runs, seed, starting_equity_cents, ruin)
    found = run_many(tasks, run_chunk, pnl, backend or LocalBackend(1), progress, should_stop)
    chunks = [found[task.key] for task in tasks]
    final = np.concatenate([c.final_pnl_cents for c in chunks])
    drawdown = np.concatenate([c.max_drawdown_cents for c in chunks])
    fan = np.concatenate([c.fan_paths for c in chunks])
    return MonteCarloResult(
        runs, method, block_length,
        {p: float(np.percentile(final, p)) for p in percentiles},
        {p: float(np.percentile(drawdown, p)) for p in percentiles},
        float(np.concatenate([c.ruined for c in chunks]).mean()),
        starting_equity_cents, ruin,
        tuple(int(i) for i in fan_index(len(pnl))),
        {p: tuple(float(v) for v in np.percentile(fan, p, axis=0)) for p in percentiles},
    )

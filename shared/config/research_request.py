"""What a research run asks for (JSON in ``research_runs``): sweep, walk-forward or Monte Carlo.

The dashboard writes a ``ResearchRequest`` row; ``python -m bot research --run-id N`` reads it,
so both sides validate requests with this one model. The backtest part is a ``BacktestRequest``.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from shared.config.backtest_request import BacktestRequest, param_problem
from shared.config.stored_request import StoredRequest

OBJECTIVES = ("net_pnl", "sharpe", "profit_factor", "pnl_minus_drawdown")
MC_METHODS = ("shuffle", "bootstrap", "block")
_ADDRESS = re.compile(r"(tcp|tls|ucx|inproc)://[\w.\-\[\]:]+")
MAX_GRID_POINTS = 10_000


class ResearchKind(StrEnum):
    """The three research tools."""

    SWEEP = "sweep"
    WALK_FORWARD = "walk_forward"
    MONTE_CARLO = "monte_carlo"


class ResearchStatus(StrEnum):
    """Life of a research run row."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class ResearchRequest(StoredRequest):
    """One research run: the backtest it varies, the grid, the objective and how to scale out."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: ResearchKind
    backtest: BacktestRequest = Field(default_factory=BacktestRequest)
    grid: dict[str, list[str]] = Field(default_factory=dict,
                                       description="KEY -> values to try (every combination)")
    objective: Literal["net_pnl", "sharpe", "profit_factor", "pnl_minus_drawdown"] = "net_pnl"
    drawdown_weight: float = Field(1.0, ge=0, le=100,
                                   description="pnl_minus_drawdown: net P&L - w x max drawdown")
    search: Literal["grid", "tpe"] = Field("grid", description="Sweep: every point, or TPE")
    trials: int = Field(50, ge=1, le=100_000, description="TPE: how many trials")
    workers: int = Field(2, ge=1, le=256, description="Local worker processes")
    cluster: str | None = Field(None, description="Dask scheduler, e.g. tcp://host:8786")
    train_bars: int = Field(0, ge=0, description="Walk-forward in-sample window in bars")
    test_bars: int = Field(0, ge=0, description="Walk-forward out-of-sample window in bars")
    anchored: bool = Field(False, description="Walk-forward: in-sample grows from the start")
    method: Literal["shuffle", "bootstrap", "block"] = "block"
    block_length: int = Field(5, ge=1, le=10_000, description="Monte Carlo block, in trades")
    runs: int = Field(1000, ge=1, le=1_000_000, description="Monte Carlo simulations")
    seed: int = Field(7, description="Monte Carlo and TPE seed")
    starting_equity_usd: float | None = Field(None, gt=0, description="Default: the config's")
    ruin_equity_usd: float = Field(0.0, ge=0, description="Ruin: equity at or below this")

    @field_validator("grid")
    @classmethod
    def _grid_values(cls, grid: dict[str, list[str]]) -> dict[str, list[str]]:
        for key, values in grid.items():
            if not values or any(not str(v).strip() for v in values):
                raise ValueError(f"--grid {key}: needs one or more non-empty values")
            if len(set(values)) != len(values):
                raise ValueError(f"--grid {key}: a value is repeated")
        return grid

    @field_validator("cluster")
    @classmethod
    def _address(cls, cluster: str | None) -> str | None:
        if cluster is not None and cluster.strip() == "":
            return None
        if cluster is not None and not _ADDRESS.fullmatch(cluster.strip()):
            raise ValueError(f"--cluster {cluster!r}: expected a scheduler address such as "
                             "tcp://10.0.0.5:8786")
        return cluster.strip() if cluster else None

    @model_validator(mode="after")
    def _consistent(self) -> ResearchRequest:
        problems = [f"--grid {key}: {problem}" for key in self.grid
                    if (problem := param_problem(key, self.backtest.strategy)) is not None]
        if self.backtest.llm != "off" or self.backtest.news:
            problems.append("research runs its backtests without the LLM and headlines (--llm "
                            "off, no --news): a sweep would replay or buy replies per point")
        if self.kind is not ResearchKind.MONTE_CARLO and not self.grid:
            problems.append("--grid: give at least one KEY=V1,V2 to vary")
        if self.search == "grid" and self.grid_points() > MAX_GRID_POINTS:
            problems.append(f"--grid: {self.grid_points()} points, more than {MAX_GRID_POINTS} "
                            "(use --search tpe)")
        if self.kind is ResearchKind.WALK_FORWARD and (self.train_bars < 1 or self.test_bars < 1):
            problems.append("walk-forward needs --train-bars and --test-bars of 1 or more")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def grid_points(self) -> int:
        """How many parameter combinations the grid has."""
        count = 1
        for values in self.grid.values():
            count *= len(values)
        return count if self.grid else 0


def research_command(python: str, run_id: int, db_path: str) -> list[str]:
    """The command line that runs a queued research row (the dashboard starts it)."""
    return [python, "-m", "bot", "research", "--run-id", str(run_id), "--db", db_path]

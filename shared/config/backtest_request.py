"""What a backtest asks for (JSON in ``backtest_runs``) and the states a run goes through.

The dashboard writes a ``BacktestRequest`` row; ``python -m bot backtest --run-id N`` reads it,
so both sides validate requests with this one model.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any, Literal, get_origin

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from shared.config.settings import (
    STRATEGY_NAMES,
    Settings,
    StrategiesConfig,
)
from shared.config.stored_request import StoredRequest

BAR_SIZES: dict[str, int] = {"5s": 5, "1min": 60, "5min": 300}
MEMORY_OFF, MEMORY_ON = "off", "on"
# Backtest-only reference strategies (bot.core.strategies.REFERENCE_STRATEGIES; a test keeps
# them equal).
REFERENCE_STRATEGY_NAMES: tuple[str, ...] = ("rsi_macd_bracket", "sma_cross")


_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


def split_params(params: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """Dotted keys (settings, ``risk.max_contracts``) apart from bare ones (the strategy's)."""
    dotted = {k: v for k, v in params.items() if "." in k}
    return dotted, {k: v for k, v in params.items() if "." not in k}


def setting_problem(key: str, model: type[BaseModel] = Settings) -> str | None:
    """Why a dotted key names no setting of ``model`` (None when it names one)."""
    parts = key.split(".")
    current: Any = model
    for depth, part in enumerate(parts):
        if get_origin(current) is dict:  # e.g. strategies.weights.breakout
            return None
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return f"{'.'.join(parts[:depth])!r} is a setting, not a section"
        field = current.model_fields.get(part)
        if field is None:
            return f"no setting {'.'.join(parts[: depth + 1])!r}"
        current = field.annotation
    return None


def param_problem(key: str, strategy: str | None) -> str | None:
    """Why ``--param key=...`` cannot apply (None when it can; reference params: checked later)."""
    if not _KEY.fullmatch(key):
        return "expected a name or a dotted section.field"
    if "." in key:
        return setting_problem(key)
    if strategy is None:
        return "a bare name is a strategy parameter and needs --strategy; use section.field"
    if strategy in STRATEGY_NAMES:
        problem = setting_problem(f"{strategy}.{key}", StrategiesConfig)
        return None if problem is None else f"{strategy} has no parameter {key!r}"
    return None


def launch_command(python: str, run_id: int, db_path: str) -> list[str]:
    """The command line that runs a queued backtest row (the dashboard starts it)."""
    return [python, "-m", "bot", "backtest", "--run-id", str(run_id), "--db", db_path]


class RunStatus(StrEnum):
    """Life of a backtest run row."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"  # by the page's Cancel, or SIGTERM (the dashboard stopping)
    LOST = "lost"  # its process is gone without a word (killed -9, machine restarted)


ACTIVE_STATUSES = (RunStatus.QUEUED.value, RunStatus.RUNNING.value)


class BacktestRequest(StoredRequest):
    """One backtest: data, dates, strategy and parameters, costs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    data: str = Field(
        "synthetic", description="'synthetic', 'ib' (history cache), or a file/folder path"
    )
    bars: int = Field(100_000, ge=1, le=20_000_000, description="Synthetic length in bars")
    seed: int = Field(7, description="Seed of the synthetic market")
    bar_size: Literal["5s", "1min", "5min"] | None = Field(
        None, description="Bar length; empty = the file's own (synthetic: 1min)"
    )
    tz: str = Field("UTC", description="Timezone of naive timestamps in a file")
    start: str | None = Field(None, description="First day or time (in tz)")
    end: str | None = Field(None, description="Last day (inclusive) or end time (in tz)")
    strategy: str | None = Field(None, description="Registry name; empty = default ensemble")
    params: dict[str, str] = Field(default_factory=dict, description="KEY -> VALUE overrides")
    commission_usd: float | None = Field(None, ge=0, le=50, description="Per contract per side")
    slippage_ticks: int | None = Field(None, ge=0, le=20)
    contracts: int | None = Field(None, ge=1, le=100)
    config: str | None = Field(None, description="Base config YAML (default: built-in)")
    news: str | None = Field(
        None, description="Headline CSV (time,headline[,source][,score]) for the sentiment"
    )
    # --- The LLM in backtests (bot/backtest/llm_*.py); "off" leaves a run as it always was ---
    llm: Literal["off", "replay", "replay-cache", "record"] = Field(
        "off", description="off; replay (the live journal's replies); replay-cache (replies "
        "a record run bought, zero cost); record (governed paid calls at detector triggers)",
    )
    llm_mode: Literal["disabled", "advisory", "bias", "consensus"] | None = Field(
        None, description="llm.mode for this run; empty = the config's"
    )
    llm_journal: str | None = Field(
        None, description="SQLite file with the LLM call log and record cache (default "
        "TRADER_DB)",
    )
    llm_max_calls: int = Field(20, ge=0, le=100_000, description="record: HTTP calls at most")
    llm_latency_s: float = Field(
        2.0, ge=0, le=3600, description="record/replay-cache: a reply counts from the trigger "
        "bar's close plus this",
    )
    llm_yes_spend: bool = Field(False, description="record: accept the printed cost estimate")
    llm_blind: bool = Field(
        False, description="record/replay-cache: date-blind prompts (no date, prices as an "
        "index, no headline text) so no model can recognise the day")
    data_label: str | None = Field(
        None, max_length=300,
        description="The data as the user knows it (an upload's own file name), used in errors "
        "instead of the stored path",
    )
    memory: str | None = Field(
        None, description="Memory of past setups: off, on, or a SQLite journal whose closed "
        "setups (closed before the first bar) seed it; empty = the config's memory.enabled",
    )

    def user_message(self, message: str) -> str:
        """``message`` with the stored data path replaced by the user's name for it."""
        if self.data_label and self.data not in ("synthetic", "ib"):
            return message.replace(self.data, self.data_label)
        return message

    @field_validator("params")
    @classmethod
    def _known_keys(cls, params: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        strategy = info.data.get("strategy")
        problems = [f"--param {key}: {problem}" for key in params
                    if (problem := param_problem(key, strategy)) is not None]
        if problems:
            raise ValueError("; ".join(problems))
        return params

    @model_validator(mode="after")
    def _llm_needs_the_pipeline(self) -> BacktestRequest:
        if self.llm != "off" and self.strategy in REFERENCE_STRATEGY_NAMES:
            raise ValueError(f"--llm {self.llm}: the reference strategy {self.strategy} has no "
                             "LLM step; use the ensemble or a registry strategy")
        return self

    @field_validator("memory")
    @classmethod
    def _memory(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        return value.strip()

    @property
    def memory_enabled(self) -> bool | None:
        """True (on or a seed file), False (off), or None (as the config says)."""
        if self.memory is None:
            return None
        return self.memory != MEMORY_OFF

    @property
    def memory_seed(self) -> str | None:
        """The journal whose closed setups seed memory, if one was given."""
        return self.memory if self.memory not in (None, MEMORY_OFF, MEMORY_ON) else None

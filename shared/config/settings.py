"""The one configuration model: every section, its defaults, validation and env overrides.

The model is frozen and rejects unknown keys, so a typo in ``config.yaml`` is an error, never a
silently ignored setting. A file holds only the keys it changes. Fields whose schema carries
``hot_reload`` are applied by a running bot within one loop iteration; the rest apply on restart.
Secrets (AWS keys, passwords) are never fields here: they come from the environment.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import (
    Field,
    ValidationError,
    model_validator,
)

from shared.config.finetune import FinetuneConfig
from shared.config.learning_checks import gate_retention_problem
from shared.config.maintenance import MaintenanceConfig
from shared.config.protections import ProtectionsConfig
from shared.config.retired import drop_retired
from shared.config.sections.alerts import AlertsConfig
from shared.config.sections.backtest import BacktestConfig
from shared.config.sections.base import HOT, Section
from shared.config.sections.broker import BrokerConfig
from shared.config.sections.dashboard import DashboardConfig
from shared.config.sections.engine import EngineConfig
from shared.config.sections.events import EventsConfig
from shared.config.sections.features import FeatureConfig
from shared.config.sections.feed import FeedConfig
from shared.config.sections.ib import IbConfig
from shared.config.sections.instrument import InstrumentConfig
from shared.config.sections.learning import LearningConfig
from shared.config.sections.llm import LlmConfig, ModelPrice, default_model_prices
from shared.config.sections.memory import MemoryConfig
from shared.config.sections.news import NewsConfig
from shared.config.sections.regime import RegimeConfig
from shared.config.sections.risk import RiskConfig
from shared.config.sections.strategies import (
    STRATEGY_NAMES,
    BreakoutParams,
    MomentumReversalParams,
    OpeningRangeBreakoutParams,
    RsiMacdParams,
    StrategiesConfig,
)
from shared.config.size_cap import oversize_problem
from shared.domain.errors import ConfigError, ConfigFileError

__all__ = [  # the sections live in shared/config/sections/; importers keep using this module
    "AlertsConfig",
    "BacktestConfig",
    "BreakoutParams",
    "BrokerConfig",
    "DashboardConfig",
    "ENV_OVERRIDES",
    "EngineConfig",
    "EventsConfig",
    "FeatureConfig",
    "FeedConfig",
    "HOT",
    "IbConfig",
    "InstrumentConfig",
    "LearningConfig",
    "LlmConfig",
    "MemoryConfig",
    "ModelPrice",
    "MomentumReversalParams",
    "NewsConfig",
    "OpeningRangeBreakoutParams",
    "RegimeConfig",
    "RiskConfig",
    "RsiMacdParams",
    "STRATEGY_NAMES",
    "Section",
    "Settings",
    "StrategiesConfig",
    "changed_fields",
    "default_model_prices",
    "describe_validation_error",
    "hot_reloadable_fields",
    "load_settings",
    "merge_hot_fields",
    "parse_config_text",
    "read_config_text",
    "settings_from_mapping",
    "settings_to_yaml",
]

logger = logging.getLogger(__name__)
_FAST_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml, if built with it


class Settings(Section):
    """Everything the bot and dashboard are configured with."""

    instrument: InstrumentConfig = Field(default_factory=InstrumentConfig)
    broker: BrokerConfig = Field(default_factory=BrokerConfig)
    ib: IbConfig = Field(default_factory=IbConfig)
    feed: FeedConfig = Field(default_factory=FeedConfig)
    features: FeatureConfig = Field(default_factory=FeatureConfig)
    regime: RegimeConfig = Field(default_factory=RegimeConfig)
    strategies: StrategiesConfig = Field(default_factory=StrategiesConfig)
    risk: RiskConfig = Field(default_factory=RiskConfig)
    protections: ProtectionsConfig = Field(default_factory=ProtectionsConfig)
    llm: LlmConfig = Field(default_factory=LlmConfig)
    events: EventsConfig = Field(default_factory=EventsConfig)
    news: NewsConfig = Field(default_factory=NewsConfig)
    memory: MemoryConfig = Field(default_factory=MemoryConfig)
    dashboard: DashboardConfig = Field(default_factory=DashboardConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    backtest: BacktestConfig = Field(default_factory=BacktestConfig)
    engine: EngineConfig = Field(default_factory=EngineConfig)
    learning: LearningConfig = Field(default_factory=LearningConfig)
    finetune: FinetuneConfig = Field(default_factory=FinetuneConfig)
    maintenance: MaintenanceConfig = Field(default_factory=MaintenanceConfig)

    @model_validator(mode="after")
    def _gate_within_retention(self) -> Settings:
        problem = gate_retention_problem(self.learning.backtest_days,
                                         self.engine.bars_retention_days)
        if problem:
            raise ValueError(problem)
        return self


# env var -> (section, field)
ENV_OVERRIDES: dict[str, tuple[str, str]] = {
    "MIN_SIMILAR_TRADES": ("memory", "min_similar_trades"),
    "MIN_WEIGHTED_WIN_RATE": ("memory", "min_weighted_win_rate"),
    "CONFIDENCE_THRESHOLD": ("risk", "confidence_threshold"),
    "AWS_REGION": ("llm", "aws_region"),
    "AWS_BEDROCK_MODEL": ("llm", "bedrock_model"),
    "TRADER_REALTIME_HOURS": ("feed", "realtime_hours"),
}


def describe_validation_error(error: ValidationError) -> str:
    """Render pydantic errors as 'section.field: reason' lines a user can act on."""
    lines = []
    for item in error.errors():
        location = ".".join(str(part) for part in item["loc"]) or "(top level)"
        lines.append(f"{location}: {item['msg']}")
    return "; ".join(lines)


def settings_from_mapping(
    data: Mapping[str, Any] | None, env: Mapping[str, str] | None = None
) -> Settings:
    """Validate a (partial) config mapping, apply env overrides, and return Settings."""
    merged: dict[str, Any] = {key: value for key, value in (data or {}).items()}
    for var, (section, name) in ENV_OVERRIDES.items():
        value = (env or {}).get(var)
        if value is None or value == "":
            continue
        section_data = merged.get(section) or {}
        if not isinstance(section_data, Mapping):
            raise ConfigError(f"{section}: must be a mapping")
        merged[section] = {**section_data, name: value}
    try:
        return Settings.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc)) from None


def parse_config_text(
    text: str, env: Mapping[str, str] | None = None, source: str = "the config text"
) -> Settings:
    """Parse YAML text into Settings; raises ConfigError naming the field and the reason.

    Empty, whitespace-only or comment-only text is an error, not "all defaults": a truncated
    save must not silently put the default limits (contracts, LLM quota) back in force. An
    explicit ``{}`` still means all defaults.
    """
    if (too_big := oversize_problem(len(text), source)) is not None:
        raise ConfigFileError(too_big)
    if not text.strip():
        raise ConfigFileError(f"{source} is empty")
    try:
        data = _load_yaml(text)
    except yaml.YAMLError as exc:
        where = " ".join(str(exc).split())  # PyYAML's message spans lines; ours is one
        raise ConfigError(f"not valid YAML: {where}") from None
    if data is None:
        raise ConfigFileError(f"{source} is empty (no settings; write {{}} for all defaults)")
    if not isinstance(data, Mapping):
        raise ConfigError("the config file must be a mapping of sections")
    data, notes = drop_retired(data)
    for note in notes:
        logger.warning("%s: %s", source, note)
    return settings_from_mapping(data, env)


def _load_yaml(text: str) -> object:
    """``yaml.safe_load`` through libyaml when present (a stored 500-line config: ~5 ms instead
    of ~50, twice at every bot start); text it refuses is read again by the pure-Python loader,
    so the error (line, column, reason) is PyYAML's own as before."""
    try:
        return yaml.load(text, Loader=_FAST_SAFE_LOADER)  # a safe loader
    except yaml.YAMLError:
        return yaml.safe_load(text)


def read_config_text(path: Path) -> str:
    """The config file's text; ConfigFileError when it is missing, unreadable or not UTF-8."""
    try:
        if (too_big := oversize_problem(Path(path).stat().st_size, f"config file {path}")):
            raise ConfigFileError(too_big)
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigFileError(f"config file {path} does not exist") from None
    except UnicodeDecodeError as exc:
        raise ConfigFileError(
            f"config file {path} is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at "
            f"offset {exc.start})"
        ) from None
    except OSError as exc:
        raise ConfigFileError(f"cannot read config file {path}: {exc}") from None


def load_settings(path: Path | None, env: Mapping[str, str] | None = None) -> Settings:
    """Load Settings from a YAML file (no path = defaults), with env overrides.

    A missing path means defaults; a file that exists but is empty is an error.
    """
    env = os.environ if env is None else env
    if path is None:
        return settings_from_mapping({}, env)
    return parse_config_text(read_config_text(path), env, source=f"config file {path}")


def settings_to_yaml(settings: Settings) -> str:
    """Serialise Settings as YAML (every field, for the default data/config.yaml)."""
    return yaml.safe_dump(settings.model_dump(mode="json"), sort_keys=False)


def hot_reloadable_fields() -> set[str]:
    """Return 'section.field' names a running bot applies without a restart."""
    names: set[str] = set()
    for section_name, section_field in Settings.model_fields.items():
        section_model = section_field.annotation
        for name, field in getattr(section_model, "model_fields", {}).items():
            extra = field.json_schema_extra
            if isinstance(extra, dict) and extra.get("hot_reload"):
                names.add(f"{section_name}.{name}")
    return names


def changed_fields(old: Settings, new: Settings) -> list[str]:
    """Return the 'section.field' names whose values differ between two configs."""
    changed = []
    for section_name in Settings.model_fields:
        old_section, new_section = getattr(old, section_name), getattr(new, section_name)
        if old_section == new_section:
            continue
        for name in type(old_section).model_fields:
            if getattr(old_section, name) != getattr(new_section, name):
                changed.append(f"{section_name}.{name}")
    return changed


def merge_hot_fields(running: Settings, wanted: Settings) -> Settings:
    """Return ``running`` with every hot-reloadable field taken from ``wanted``."""
    hot = hot_reloadable_fields()
    sections: dict[str, Any] = {}
    for section_name in Settings.model_fields:
        running_section = getattr(running, section_name)
        updates = {
            name: getattr(getattr(wanted, section_name), name)
            for name in type(running_section).model_fields
            if f"{section_name}.{name}" in hot
        }
        sections[section_name] = running_section.model_copy(update=updates)
    return Settings.model_validate(running.model_copy(update=sections).model_dump())

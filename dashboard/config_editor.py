"""Config editing for the dashboard: field descriptions for forms, validation, diff, save.

Saving writes the new version to ``config_versions`` (marked active) and then the YAML file the
bot watches, atomically (temp file + rename). The running bot validates the file again and
applies its hot-reloadable fields within one loop iteration.
"""

from __future__ import annotations

import difflib
import logging
import sqlite3
import types
import typing
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import to_jsonable_python

from shared.config.settings import Settings, hot_reloadable_fields, settings_to_yaml
from shared.config.size_cap import oversize_problem
from shared.persistence import config_source, ops_store
from shared.persistence.db import write_transaction


class FieldKind:
    """How a form shows a field."""

    BOOL = "bool"
    INT = "int"
    FLOAT = "float"
    TEXT = "text"
    CHOICE = "choice"
    YAML = "yaml"

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One editable field: what it is, its value now, and whether it applies without restart."""

    section: str
    name: str
    kind: str
    value: Any
    description: str
    hot: bool
    optional: bool = False
    choices: tuple[Any, ...] = ()


@dataclass(frozen=True, slots=True)
class FieldError:
    """A validation problem at 'section.field' with pydantic's reason."""

    location: str
    message: str


def _kind_of(annotation: Any) -> tuple[str, bool, tuple[Any, ...]]:
    optional = False
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and type(None) in args:
        optional = True
        annotation = next(a for a in args if a is not type(None))
    if typing.get_origin(annotation) is Literal:
        return FieldKind.CHOICE, optional, typing.get_args(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return FieldKind.YAML, optional, ()
    if annotation is bool:
        return FieldKind.BOOL, optional, ()
    if annotation is int:
        return FieldKind.INT, optional, ()
    if annotation is float:
        return FieldKind.FLOAT, optional, ()
    if isinstance(annotation, type) and issubclass(annotation, str) and annotation is not str:
        return FieldKind.CHOICE, optional, tuple(annotation)  # a StrEnum
    if annotation is str:
        return FieldKind.TEXT, optional, ()
    return FieldKind.YAML, optional, ()


def section_names() -> list[str]:
    """Config sections in model order."""
    return list(Settings.model_fields)


def section_fields(settings: Settings, section: str) -> list[FieldSpec]:
    """Describe every field of ``section`` with its current value, for a form."""
    hot = hot_reloadable_fields()
    model = getattr(settings, section)
    specs = []
    for name, field in type(model).model_fields.items():
        kind, optional, choices = _kind_of(field.annotation)
        value = getattr(model, name)
        if kind == FieldKind.YAML:
            dumped = to_jsonable_python(value)  # models nested in dicts too (llm.prices)
            value = yaml.safe_dump(dumped, sort_keys=False).strip()
        elif kind == FieldKind.CHOICE and hasattr(value, "value"):
            value = value.value
        specs.append(FieldSpec(section, name, kind, value, field.description or "",
                               f"{section}.{name}" in hot, optional,
                               tuple(getattr(c, "value", c) for c in choices)))
    return specs


def parse_form_value(spec: FieldSpec, raw: Any) -> Any:
    """Turn a widget's raw value into config data (YAML fields parsed; empty optional = None)."""
    if spec.optional and (raw is None or raw == ""):
        return None
    if spec.kind == FieldKind.YAML:
        try:
            return yaml.safe_load(raw) if isinstance(raw, str) else raw
        except yaml.YAMLError as exc:
            return _Unparsable(str(exc))
    return raw


@dataclass(frozen=True, slots=True)
class _Unparsable:
    reason: str


def replace_section(settings: Settings, section: str, values: dict[str, Any]) -> dict[str, Any]:
    """Return the full config mapping with one section's fields replaced."""
    data = settings.model_dump(mode="json")
    data[section] = {**data[section], **values}
    return data


def validate_config(data: Any) -> tuple[Settings | None, list[FieldError]]:
    """Validate a config mapping (no env overrides); return Settings or field-level errors."""
    if not isinstance(data, dict):
        return None, [FieldError("(top level)", "the config must be a mapping of sections")]
    unparsable = [
        FieldError(f"{section}.{name}", f"not valid YAML: {value.reason}")
        for section, fields in data.items() if isinstance(fields, dict)
        for name, value in fields.items() if isinstance(value, _Unparsable)
    ]
    if unparsable:
        return None, unparsable
    try:
        return Settings.model_validate(data), []
    except ValidationError as exc:
        errors = [
            FieldError(".".join(str(p) for p in item["loc"]) or "(top level)", item["msg"])
            for item in exc.errors()
        ]
        return None, errors


EMPTY_TEXT = "the config text is empty: nothing to save, the running config stays in force"


def validate_yaml_text(text: str) -> tuple[Settings | None, list[FieldError]]:
    """Validate raw YAML text from the editor; empty text is refused, never "all defaults"."""
    if (too_big := oversize_problem(len(text), "the config text")) is not None:
        return None, [FieldError("(YAML)", too_big)]
    if not text.strip():
        return None, [FieldError("(YAML)", EMPTY_TEXT)]
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        return None, [FieldError("(YAML)", f"not valid YAML: {exc}")]
    if data is None:
        return None, [FieldError("(YAML)", EMPTY_TEXT + " (write {} for all defaults)")]
    return validate_config(data)


def yaml_diff(old_text: str, new_text: str, old_label: str, new_label: str) -> str:
    """A unified diff between two YAML texts ('' when identical)."""
    lines = difflib.unified_diff(
        old_text.splitlines(), new_text.splitlines(), old_label, new_label, lineterm=""
    )
    return "\n".join(lines)


def save_config(
    conn: sqlite3.Connection, path: Path, settings: Settings, author: str, note: str,
    now: datetime,
) -> int:
    """Store ``settings`` as the active version (one transaction: the bot applies it from
    there), then refresh the exported copy at ``path`` for hand editing; return the version id.

    The copy is a convenience: if it cannot be written the version is still in force.
    """
    with write_transaction(conn):
        version_id, _ = config_source.store_version(conn, settings, author, note, now)
    try:
        config_source.export_active(conn, path)
    except OSError as exc:
        logger.warning("config version %s saved; its copy at %s was not written: %s",
                       version_id, path, exc)
    return version_id


def active_yaml(conn: sqlite3.Connection, fallback: Settings) -> tuple[int | None, str]:
    """The active version's id and YAML (or the fallback's YAML before any version exists)."""
    active = ops_store.active_config_version(conn)
    if active is None:
        return None, settings_to_yaml(fallback)
    return active.version_id, active.yaml

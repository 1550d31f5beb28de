"""The config reference page, written from the model itself: every section, key, default,
whether a running bot applies it live, and its description.

``python -m shared.config.describe > docs/config.md`` rewrites the page; a test fails, naming
this command, when the page and the model differ (a new field added without its docs).
"""

from __future__ import annotations

import enum
import json
import sys
from typing import Any

from pydantic import BaseModel

from shared.config.settings import Settings

MAX_DEFAULT_CHARS = 60
HEADER = """# Config reference

Every key of `data/config.yaml` and of the Config page, by section: its default, whether a
running bot applies a change within one loop iteration (*live*) or on restart, and what it
means. A file holds only the keys it changes; unknown keys and bad values are refused with
the field named (exit 2). `python -m bot config show` prints the active version in full.

<!-- Written by `python -m shared.config.describe > docs/config.md`; do not edit by hand. -->
"""


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return {k: _plain(v) for k, v in value}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {str(_plain(k)): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    return value


def default_text(value: Any) -> str:
    """A default as YAML-ish inline text, or a pointer to ``config show`` when long."""
    if value is None:
        return "empty"
    text = json.dumps(_plain(value), default=str)
    if len(text) > MAX_DEFAULT_CHARS:
        return "(long: see `config show`)"
    return f"`{text}`"


def _is_live(model: type[BaseModel], name: str) -> bool:
    extra = model.model_fields[name].json_schema_extra
    return isinstance(extra, dict) and bool(extra.get("hot_reload"))


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def section_rows(section: BaseModel, prefix: str = "") -> list[str]:
    """Table rows of one section; nested models (e.g. a strategy's parameters) inline, dotted."""
    rows = []
    model = type(section)
    for name, field in model.model_fields.items():
        value = getattr(section, name)
        if isinstance(value, BaseModel):
            rows.extend(section_rows(value, f"{prefix}{name}."))
            continue
        live = "live" if _is_live(model, name) else "restart"
        rows.append(f"| `{prefix}{name}` | {_cell(default_text(value))} | {live} | "
                    f"{_cell(field.description or '')} |")
    return rows


def _summary(model: type[BaseModel]) -> str:
    doc = (model.__doc__ or "").strip()
    return " ".join(doc.split("\n\n")[0].split())


def reference_markdown() -> str:
    """The whole page."""
    settings = Settings()
    parts = [HEADER]
    for name in Settings.model_fields:
        section = getattr(settings, name)
        parts.append(f"\n## `{name}`\n\n{_summary(type(section))}\n\n"
                     "| key | default | applies | meaning |\n|---|---|---|---|\n"
                     + "\n".join(section_rows(section)) + "\n")
    return "".join(parts)


def main() -> int:
    sys.stdout.write(reference_markdown())
    return 0


if __name__ == "__main__":
    sys.exit(main())

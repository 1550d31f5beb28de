"""The base of every config section: unknown keys refused, frozen, numbers finite and bounded."""

from __future__ import annotations

from pydantic import ConfigDict

from shared.config.bounds import BoundedModel

HOT = {"hot_reload": True}


class Section(BoundedModel):
    """Base of every section: unknown keys refused, frozen, numbers finite and bounded."""

    model_config = ConfigDict(extra="forbid", frozen=True)

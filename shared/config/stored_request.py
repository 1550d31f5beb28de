"""A run request the dashboard stores as JSON and the run's process reads back."""

from __future__ import annotations

import json
from typing import Self

from pydantic import ValidationError

from shared.config.bounds import BoundedModel
from shared.config.settings import describe_validation_error
from shared.domain.errors import ConfigError


class StoredRequest(BoundedModel):
    """Base of the backtest and research requests: one JSON form in their runs tables."""

    def to_json(self) -> str:
        """Serialise for the runs table's ``request_json`` column (keys sorted: stable text)."""
        return json.dumps(self.model_dump(mode="json"), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Self:
        """Parse a stored request; ConfigError names the field that is wrong."""
        try:
            return cls.model_validate_json(text)
        except ValidationError as exc:
            raise ConfigError(describe_validation_error(exc)) from None

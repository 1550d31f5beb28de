"""The dashboard editor's validation of raw YAML: empty text is refused like any invalid edit."""

from __future__ import annotations

import pytest

from dashboard.config_editor import EMPTY_TEXT, validate_yaml_text
from shared.config.settings import RiskConfig


@pytest.mark.parametrize("text", ["", "  ", "\n\t\n", "# just a comment\n"])
def test_empty_yaml_text_is_refused_with_a_reason(text):
    settings, errors = validate_yaml_text(text)
    assert settings is None
    assert [e.location for e in errors] == ["(YAML)"]
    assert errors[0].message.startswith(EMPTY_TEXT)


def test_a_partial_text_validates_and_keeps_other_defaults():
    settings, errors = validate_yaml_text("risk:\n  max_contracts: 1\n")
    assert errors == [] and settings is not None
    assert settings.risk.max_contracts == 1
    assert settings.risk.min_stop_points == RiskConfig().min_stop_points  # a default kept

"""The LLM page's call log as its table shows it (narrow enough for 1,400 px)."""

from __future__ import annotations

import pandas as pd
import pytest

from dashboard.llm_reports import CALL_COLUMNS, calls_shown

pytestmark = pytest.mark.unit


def test_the_call_log_folds_tokens_and_route_into_readable_columns():
    calls = pd.DataFrame([
        {**dict.fromkeys(CALL_COLUMNS), "input_tokens": 1200, "output_tokens": 150,
         "model": "m1", "route": "default"},
        {**dict.fromkeys(CALL_COLUMNS), "model": "m2", "route": "cheap"},
    ], columns=CALL_COLUMNS)
    shown = calls_shown(calls)
    assert shown["tokens"][0] == "1,200 / 150" and pd.isna(shown["tokens"][1])  # empty cell
    assert list(shown["model"]) == ["m1", "cheap · m2"]

"""The per-signal LLM gate's mode (``llm.gate``): which entries the model is asked about."""

from __future__ import annotations

from typing import Literal

LlmGateMode = Literal["off", "candidates"]

GATE_HELP = (
    "off: the model is asked on market events only; candidates: also about each entry the "
    "ensemble proposes (within the quota, cost cap, cooldown and hourly cap)")

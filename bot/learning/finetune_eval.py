"""Is the fine-tuned model at least as well calibrated as its base on the held-out examples?

Each held-out example (the export's ``<stem>.heldout.jsonl``: prompts from trading days the
training file never saw, labelled by the market's move) is asked of the base model and of the
custom model through the governed analyst: every HTTP attempt reserved against the day's quota
and dollar cap and logged in ``llm_calls`` under the trigger ``evaluation`` (which the live
calibration ledger and the training export leave out). An answer is right when its bias is the
label; its confidence is read as the probability of being right (``shared.domain.calibration``).
The custom model passes when both models answered at least ``min_validation_examples`` of the
examples and its Brier score is not above the base model's.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from bot.core.llm_reply import LlmReply
from bot.learning.finetune_data import example_lines
from bot.llm.analyst import AnalysisRequest, Analyst
from bot.llm.routing import config_for_model
from bot.llm.types import CallStatus, Provider, Trigger, TriggerKind
from shared.config.finetune import FinetuneConfig
from shared.config.settings import LlmConfig
from shared.domain.calibration import Calibration, ScoredCall, calibration

TEMPLATE_VERSION = "finetune-eval-v1"


@dataclass(frozen=True, slots=True)
class HeldOut:
    """One held-out question and the market's answer to it."""

    system: str
    prompt: str
    label: str  # BULLISH, BEARISH or NEUTRAL


@dataclass(frozen=True, slots=True)
class Verdict:
    """Both models' figures on the same examples and whether the custom one may be routed."""

    examples: int
    base: Calibration
    custom: Calibration
    approved: bool
    reason: str

    def as_json(self, base_model: str, custom_model: str) -> str:
        """The figures as the job row stores them."""
        return json.dumps({"examples": self.examples, "approved": self.approved,
                           "reason": self.reason,
                           "base": {"model": base_model, **_figures(self.base)},
                           "custom": {"model": custom_model, **_figures(self.custom)}})


def _figures(figures: Calibration) -> dict[str, Any]:
    return {"calls": figures.calls, "hit_rate": figures.hit_rate, "brier": figures.brier,
            "base_rate": figures.base_rate}


def held_out_examples(text: str, limit: int) -> tuple[list[HeldOut], list[str]]:
    """The first ``limit`` usable examples of a held-out JSONL and why others were skipped."""
    found, skipped = [], []
    for number, line in enumerate(example_lines(text), start=1):
        try:
            record = json.loads(line)
            messages = record["messages"]
            label = str(json.loads(messages[-1]["content"])["bias"]).upper()
            prompt = str(messages[-2]["content"])
        except (json.JSONDecodeError, KeyError, IndexError, TypeError) as exc:
            skipped.append(f"line {number}: {type(exc).__name__}")
            continue
        if label not in ("BULLISH", "BEARISH", "NEUTRAL"):
            skipped.append(f"line {number}: label {label[:20]!r}")
            continue
        found.append(HeldOut(str(record.get("system", "")), prompt, label))
        if len(found) >= limit:
            break
    return found, skipped


def judge(base: Calibration, custom: Calibration, cfg: FinetuneConfig) -> tuple[bool, str]:
    """Whether the custom model may answer a route, and why (not)."""
    need = cfg.min_validation_examples
    if base.calls < need or custom.calls < need:
        return False, (f"too few answers to measure (base {base.calls}, custom {custom.calls}; "
                       f"need {need} each)")
    if base.brier is None or custom.brier is None or custom.brier > base.brier:
        return False, (f"custom Brier {custom.brier:.4f} is above the base model's "
                       f"{base.brier:.4f}: less well calibrated")
    return True, (f"custom Brier {custom.brier:.4f} <= base {base.brier:.4f} over "
                  f"{custom.calls} held-out answers")


class Evaluation:
    """Asks both models every held-out example through the governed analyst."""

    def __init__(self, conn: sqlite3.Connection, llm: LlmConfig,
                 factory: Callable[[LlmConfig], Provider],
                 wall_clock: Callable[[], datetime]) -> None:
        self.conn = conn
        self.llm = llm.model_copy(update={"reply_cache_minutes": 0.0})
        self.factory = factory
        self.wall_clock = wall_clock

    def score(self, model: str, examples: list[HeldOut], job_name: str) -> Calibration:
        """Ask ``model`` each example; the calibration of its valid answers."""
        cfg = config_for_model(self.llm, model)
        analyst = Analyst(self.conn, cfg, self.factory(cfg), self.wall_clock)
        scored = []
        for index, example in enumerate(examples):
            now = self.wall_clock()
            trigger = Trigger(TriggerKind.EVALUATION, now, {"job": job_name, "example": index})
            outcome = analyst.analyze(replace(
                AnalysisRequest(trigger, example.system, example.prompt, TEMPLATE_VERSION),
                route="evaluation"))
            reply = outcome.reply
            if outcome.status is not CallStatus.OK or not isinstance(reply, LlmReply):
                continue
            bias = reply.bias.value.upper()
            scored.append(ScoredCall(outcome.call_id, now, "evaluation", model, "evaluation",
                                     bias, min(1.0, max(0.0, reply.confidence)), example.label,
                                     bias == example.label))
        return calibration(scored)

    def run(self, base_model: str, custom_model: str, examples: list[HeldOut],
            job_name: str, cfg: FinetuneConfig) -> Verdict:
        """Both models on the same examples, and the verdict."""
        base = self.score(base_model, examples, job_name)
        custom = self.score(custom_model, examples, job_name)
        approved, reason = judge(base, custom, cfg)
        return Verdict(len(examples), base, custom, approved, reason)

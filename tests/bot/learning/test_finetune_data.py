"""A fine-tuning job's files: counts, held-out overlap, format, estimate; the evaluation verdict."""

from __future__ import annotations

import json

import pytest

from bot.learning.finetune_data import check_files, train_tokens
from bot.learning.finetune_eval import held_out_examples, judge
from shared.config.finetune import FinetuneConfig
from shared.domain.calibration import Calibration

pytestmark = pytest.mark.unit


def line(prompt: str, bias: str = "BULLISH") -> str:
    answer = json.dumps({"bias": bias, "confidence": 0.55})
    return json.dumps({"messages": [{"role": "user", "content": prompt},
                                    {"role": "assistant", "content": answer}]})


def lines(prefix: str, count: int) -> str:
    return "".join(line(f"{prefix} {i}") + "\n" for i in range(count))


CFG = FinetuneConfig(min_examples=10, min_validation_examples=5, epochs=2,
                     price_per_1k_training_tokens_usd=0.01, max_job_usd=50)


def test_good_files_pass_with_counts_tokens_and_the_estimate():
    train = lines("train", 12)
    files = check_files(train, lines("held", 6), CFG)
    assert files.problems == ()
    assert (files.train_examples, files.validation_examples) == (12, 6)
    assert files.train_tokens == train_tokens(train) >= len(train) // 4
    assert files.estimate_usd == pytest.approx(files.train_tokens * 2 / 1000 * 0.01, abs=1e-4)


def test_every_refusal_is_named():
    train = lines("train", 4) + "not json\n"
    files = check_files(train, lines("train", 2), CFG)
    text = "\n".join(files.problems)
    assert "training file line 5: not JSON" in text
    assert "5 example(s), fewer than finetune.min_examples (10)" in text
    assert "2 example(s), fewer than finetune.min_validation_examples (5)" in text
    assert "2 prompt(s) are in both files" in text


def test_a_job_above_the_dollar_cap_is_refused():
    dear = CFG.model_copy(update={"price_per_1k_training_tokens_usd": 10.0, "max_job_usd": 0.5})
    files = check_files(lines("train", 12), lines("held", 6), dear)
    assert any("above finetune.max_job_usd" in p for p in files.problems)


def test_held_out_examples_read_the_label_and_skip_what_they_cannot():
    text = line("a", "BEARISH") + "\n" + "{}\n" + line("b", "SIDEWAYS") + "\n" + line("c")
    examples, skipped = held_out_examples(text, 10)
    assert [(e.prompt, e.label) for e in examples] == [("a", "BEARISH"), ("c", "BULLISH")]
    assert len(skipped) == 2 and "SIDEWAYS" in skipped[1]


def figures(calls: int, brier: float | None) -> Calibration:
    return Calibration(calls, calls // 2, 0.5, 0.4, 0.6, brier, 0.4, 0.6)


@pytest.mark.parametrize(("base", "custom", "approved", "why"), [
    (figures(40, 0.30), figures(40, 0.20), True, "<= base"),
    (figures(40, 0.30), figures(40, 0.30), True, "<= base"),  # at least as calibrated
    (figures(40, 0.20), figures(40, 0.30), False, "less well calibrated"),
    (figures(40, 0.30), figures(3, 0.10), False, "too few answers"),
])
def test_the_custom_model_needs_enough_answers_and_a_brier_not_above_the_base(
        base, custom, approved, why):
    ok, reason = judge(base, custom, CFG)
    assert ok is approved and why in reason

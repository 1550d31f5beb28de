"""Checks of a fine-tuning job's files before anything is uploaded or started.

The training and validation files are the export's Bedrock conversational JSONL
(``bot.learning.finetune_format``). A job needs enough lines in each, every line valid, and no
prompt in both files (a held-out example seen in training measures nothing). The training cost
is estimated from the training file's size: tokens ≈ characters ÷ 3 (English JSON runs nearer
4 characters a token, so the estimate errs on the dear side) × epochs × the configured price.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

from bot.learning.finetune_format import file_problems
from shared.config.finetune import FinetuneConfig

CHARS_PER_TOKEN = 3.0
PROBLEMS_SHOWN = 5


@dataclass(frozen=True, slots=True)
class JobFiles:
    """What the two files hold and what training on them would cost."""

    train_examples: int
    validation_examples: int
    train_tokens: int
    estimate_usd: float
    problems: tuple[str, ...]


def example_lines(text: str) -> list[str]:
    """The non-empty lines of a JSONL text."""
    return [line for line in text.splitlines() if line.strip()]


def prompt_key(line: str) -> str:
    """The user prompts of one example (what makes two examples the same question)."""
    try:
        record = json.loads(line)
        return json.dumps([m.get("content") for m in record.get("messages", [])
                           if isinstance(m, dict) and m.get("role") == "user"])
    except (json.JSONDecodeError, AttributeError):
        return line


def train_tokens(text: str) -> int:
    """Tokens the training file holds (estimated on the dear side)."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def check_files(train_text: str, validation_text: str, cfg: FinetuneConfig) -> JobFiles:
    """Counts, estimate and every problem that refuses the job (empty when it may start)."""
    problems: list[str] = []
    for name, text in (("training", train_text), ("validation", validation_text)):
        found = file_problems(text)
        problems += [f"{name} file {p}" for p in found[:PROBLEMS_SHOWN]]
        if len(found) > PROBLEMS_SHOWN:
            problems.append(f"{name} file: {len(found) - PROBLEMS_SHOWN} more problem(s)")
    train, validation = example_lines(train_text), example_lines(validation_text)
    if len(train) < cfg.min_examples:
        problems.append(f"training file: {len(train)} example(s), fewer than "
                        f"finetune.min_examples ({cfg.min_examples})")
    if len(validation) < cfg.min_validation_examples:
        problems.append(f"validation file: {len(validation)} example(s), fewer than "
                        f"finetune.min_validation_examples ({cfg.min_validation_examples})")
    shared = {prompt_key(line) for line in train} & {prompt_key(line) for line in validation}
    if shared:
        problems.append(f"{len(shared)} prompt(s) are in both files: the validation split "
                        "must be held out (export-training writes <stem>.heldout.jsonl)")
    tokens = train_tokens(train_text)
    estimate = tokens * cfg.epochs / 1000 * cfg.price_per_1k_training_tokens_usd
    if estimate > cfg.max_job_usd:
        problems.append(f"estimated training cost ${estimate:,.2f} is above "
                        f"finetune.max_job_usd (${cfg.max_job_usd:,.2f})")
    return JobFiles(len(train), len(validation), tokens, round(estimate, 4), tuple(problems))

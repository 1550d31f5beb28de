"""Settings of the Bedrock fine-tuning loop (``finetune``; seed 002).

Training files come from ``python -m bot export-training`` (labelled LLM calls, a held-out
split by trading day). A job is refused below ``min_examples`` training lines or
``min_validation_examples`` validation lines, above ``max_job_usd`` of estimated training cost,
and without confirmation when its estimate is above $0. Every control-plane request (start,
status) is one governed attempt against ``daily_control_calls``. A finished custom model may
answer a route (``llm.routes``) only after ``finetune evaluate`` shows it at least as well
calibrated (Brier score) as its base model on the held-out examples.
"""

from __future__ import annotations

from pydantic import ConfigDict, Field

from shared.config.bounds import BoundedModel


class FinetuneConfig(BoundedModel):
    """Limits and prices of a fine-tuning job."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_examples: int = Field(
        200, ge=10, le=1_000_000, description="Fewest training lines a job may start with")
    min_validation_examples: int = Field(
        20, ge=5, le=100_000, description="Fewest held-out lines (validation and evaluation)")
    epochs: int = Field(2, ge=1, le=10, description="Passes over the training file")
    price_per_1k_training_tokens_usd: float = Field(
        0.01, ge=0, le=10,
        description="Training price per 1,000 tokens processed (check Bedrock's price list for "
        "the base model; the default errs on the dear side)")
    max_job_usd: float = Field(50.0, ge=0, description="A job estimated above this is refused")
    daily_control_calls: int = Field(
        50, ge=0, le=10_000, description="Governor: Bedrock control-plane attempts per day")
    endpoint_url: str = Field(
        "", description="Bedrock control-plane endpoint; empty = AWS (set for a test endpoint)")
    evaluation_max_examples: int = Field(
        200, ge=5, le=10_000,
        description="Held-out examples asked of each model by finetune evaluate (2 calls each)")

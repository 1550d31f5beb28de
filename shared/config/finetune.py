"""Settings of the Bedrock fine-tuning loop (``finetune``; seed 002).

Training files come from ``python -m bot export-training`` (labelled LLM calls, a held-out
split by trading day). A job is refused below ``min_examples`` training lines or
``min_validation_examples`` validation lines, above ``max_job_usd`` of estimated training cost,
and without confirmation when its estimate is above $0. Every control-plane request (start,
status) is one governed attempt against ``daily_control_calls``. A finished custom model may
answer a route (``llm.routes``) only after ``finetune evaluate`` shows it at least as well
calibrated (Brier score) as its base model on the held-out examples.

The retrain schedule (``retrain_*``, ``auto_start``; checked by the nightly program) prepares
fresh files after ``retrain_after_examples`` new labelled examples or, with ``retrain_weekly``,
a week after the last job; it starts the job itself only with ``auto_start`` and an estimate
within ``retrain_max_usd``, else it journals "retrain ready" with the files' folder.
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
    retrain_after_examples: int = Field(
        0, ge=0, le=1_000_000,
        description="Retrain schedule: prepare a job's files once this many new labelled "
        "examples exist since the last job (0 = off)")
    retrain_weekly: bool = Field(
        False, description="Retrain schedule: also prepare them when a week has passed since "
        "the last job (and there is a new labelled example)")
    auto_start: bool = Field(
        False, description="Retrain schedule: start the job too (within retrain_max_usd); "
        "off = journal 'retrain ready' with the files' folder for a person to start")
    retrain_max_usd: float = Field(
        10.0, ge=0, description="Retrain schedule: a scheduled job estimated above this is not "
        "started (finetune.max_job_usd still applies)")
    retrain_base_model: str = Field(
        "", description="Retrain schedule: base model id to customise (empty = the schedule "
        "cannot start a job and says so)")
    retrain_role_arn: str = Field(
        "", description="Retrain schedule: IAM role Bedrock assumes (empty = cannot start)")
    retrain_s3_uri: str = Field(
        "", pattern=r"^(s3://[^/\s]+(/\S*)?)?$",
        description="Retrain schedule: s3://bucket/prefix for the files (empty = cannot start)")
    retrain_folder: str = Field(
        "", description="Retrain schedule: where the prepared files go; empty = retrain/ "
        "beside the database")
    retrain_heldout_fraction: float = Field(
        0.2, ge=0.05, lt=1, description="Retrain schedule: share of trading days held out")

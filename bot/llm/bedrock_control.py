"""Bedrock's control plane for fine-tuning: start a model-customization job, read its status.

One boto3 ``bedrock`` client that never retries on its own (``total_max_attempts=1``), like the
runtime and S3 clients: every request is one attempt reserved in the ``cloud_calls`` ledger by
the caller. Credentials come only from boto3's environment chain; ``endpoint_url`` points at a
local stand-in in tests. Remote failures come back as text, never as exceptions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from bot.llm.aws_session import new_session

OPERATION_START = "CreateModelCustomizationJob"
OPERATION_STATUS = "GetModelCustomizationJob"
FINISHED = "Completed"


@dataclass(frozen=True, slots=True)
class JobSpec:
    """Everything a fine-tuning job is started with."""

    job_name: str
    custom_model_name: str
    role_arn: str
    base_model: str
    train_uri: str
    validation_uri: str
    output_uri: str
    epochs: int


@dataclass(frozen=True, slots=True)
class JobState:
    """A job's status as Bedrock reports it."""

    status: str  # InProgress, Completed, Failed, Stopping, Stopped
    custom_model_arn: str
    message: str


def job_request(spec: JobSpec) -> dict[str, Any]:
    """The ``CreateModelCustomizationJob`` parameters."""
    return {
        "jobName": spec.job_name,
        "customModelName": spec.custom_model_name,
        "roleArn": spec.role_arn,
        "baseModelIdentifier": spec.base_model,
        "customizationType": "FINE_TUNING",
        "trainingDataConfig": {"s3Uri": spec.train_uri},
        "validationDataConfig": {"validators": [{"s3Uri": spec.validation_uri}]},
        "outputDataConfig": {"s3Uri": spec.output_uri},
        "hyperParameters": {"epochCount": str(spec.epochs)},
    }


def _error_text(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code', 'ClientError')}: {error.get('Message', '')}"[:500]
    return f"{type(exc).__name__}: {exc}"[:500]


class BedrockControl:
    """The control-plane client (one attempt per request)."""

    def __init__(self, region: str, endpoint_url: str = "", timeout_s: float = 30.0) -> None:
        config = Config(connect_timeout=min(timeout_s, 10.0), read_timeout=timeout_s,
                        retries={"mode": "standard", "total_max_attempts": 1})
        self._client = new_session(region).client(
            "bedrock", region_name=region, endpoint_url=endpoint_url or None, config=config)

    def start(self, spec: JobSpec) -> tuple[str, str]:
        """Start the job: (job ARN, "") or ("", the error)."""
        try:
            reply = self._client.create_model_customization_job(**job_request(spec))
        except (ClientError, BotoCoreError) as exc:
            return "", _error_text(exc)
        return str(reply.get("jobArn", "")), ""

    def status(self, job_name: str) -> tuple[JobState | None, str]:
        """The job's state, or (None, the error)."""
        try:
            reply = self._client.get_model_customization_job(jobIdentifier=job_name)
        except (ClientError, BotoCoreError) as exc:
            return None, _error_text(exc)
        status = str(reply.get("status", ""))
        message = str(reply.get("failureMessage", "")) if status == "Failed" else ""
        model = str(reply.get("outputModelArn", "")) if status == FINISHED else ""
        return JobState(status, model, message), ""

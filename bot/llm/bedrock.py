"""AWS Bedrock through boto3 ``converse``, structured output by forced tool use.

The only module that imports boto3. Model id (or inference profile), region and endpoint come
from the config (``AWS_REGION`` / ``AWS_BEDROCK_MODEL`` override them); credentials only from
boto3's environment chain. Timeouts and a total attempt count are explicit (``standard`` mode).
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)

from bot.core.llm_reply import extract_json
from bot.llm.types import CallStatus, ProviderResult, Usage
from shared.config.settings import LlmConfig

logger = logging.getLogger(__name__)

TOOL_NAME = "emit_market_bias"
PARSE_FAILURE_STOPS = frozenset({
    "max_tokens", "malformed_model_output", "malformed_tool_use",
    "model_context_window_exceeded",
})
REFUSAL_STOPS = frozenset({"guardrail_intervened", "content_filtered"})
THROTTLE_CODES = frozenset({"ThrottlingException", "ServiceQuotaExceededException",
                            "TooManyRequestsException"})


def _usage(data: dict[str, Any]) -> Usage:
    return Usage(
        input_tokens=int(data.get("inputTokens") or 0),
        output_tokens=int(data.get("outputTokens") or 0),
        cache_read_tokens=int(data.get("cacheReadInputTokens") or 0),
        cache_write_tokens=int(data.get("cacheWriteInputTokens") or 0),
    )


def interpret_converse(response: dict[str, Any]) -> ProviderResult:
    """Turn a Converse response into a result: tool input, or text JSON, or a parse failure."""
    stop = str(response.get("stopReason") or "")
    usage = _usage(response.get("usage") or {})
    latency_ms = float((response.get("metrics") or {}).get("latencyMs") or 0.0)
    retries = int((response.get("ResponseMetadata") or {}).get("RetryAttempts") or 0)
    content = ((response.get("output") or {}).get("message") or {}).get("content") or []
    tool_input = next((c["toolUse"].get("input") for c in content
                       if isinstance(c, dict) and "toolUse" in c), None)
    text = "".join(c.get("text", "") for c in content if isinstance(c, dict) and "text" in c)
    raw = text if tool_input is None else _dumps(tool_input)

    def result(status: CallStatus, parsed: dict[str, Any] | None, error: str) -> ProviderResult:
        return ProviderResult(status, parsed, raw, usage, latency_ms, stop, retries, error)

    if stop in REFUSAL_STOPS:
        return result(CallStatus.REFUSED, None, f"model stopped: {stop}")
    if stop in PARSE_FAILURE_STOPS:
        return result(CallStatus.PARSE_ERROR, None, f"model stopped: {stop}")
    if isinstance(tool_input, dict):
        return result(CallStatus.OK, tool_input, "")
    parsed = extract_json(text)
    if parsed is None:
        return result(CallStatus.PARSE_ERROR, None, "no JSON object in the reply")
    return result(CallStatus.OK, parsed, "")


def _dumps(value: Any) -> str:
    try:
        return json.dumps(value, sort_keys=True)
    except (TypeError, ValueError):
        return repr(value)


class BedrockProvider:
    """Converse with forced tool use; remote failures become statuses, never exceptions."""

    name = "bedrock"

    def __init__(self, cfg: LlmConfig) -> None:
        self.cfg = cfg
        self.model = cfg.bedrock_model
        self._session = boto3.session.Session(region_name=cfg.aws_region)
        config = Config(
            connect_timeout=cfg.connect_timeout_s,
            read_timeout=cfg.read_timeout_s,
            retries={"mode": "standard", "total_max_attempts": cfg.max_attempts},
        )
        self._client = self._session.client(
            "bedrock-runtime", region_name=cfg.aws_region, config=config,
            endpoint_url=cfg.bedrock_endpoint_url or None,
        )

    def availability(self) -> tuple[bool, str]:
        """Available when boto3 finds credentials in the environment chain."""
        try:
            credentials = self._session.get_credentials()
        except BotoCoreError as exc:
            return False, f"credentials: {type(exc).__name__}"
        if credentials is None:
            return False, "no AWS credentials in the environment (AWS_ACCESS_KEY_ID/AWS_PROFILE)"
        return True, f"{self.model} in {self.cfg.aws_region}"

    def request(self, system: str, user: str, schema: dict[str, Any]) -> dict[str, Any]:
        """The Converse request: system, one user message, one tool the model must call."""
        inference: dict[str, Any] = {"maxTokens": self.cfg.max_output_tokens}
        if self.cfg.temperature is not None:
            inference["temperature"] = self.cfg.temperature
        return {
            "modelId": self.model,
            "system": [{"text": system}],
            "messages": [{"role": "user", "content": [{"text": user}]}],
            "inferenceConfig": inference,
            "toolConfig": {
                "tools": [{"toolSpec": {
                    "name": TOOL_NAME,
                    "description": "Report the market bias for ES/MES futures.",
                    "inputSchema": {"json": schema},
                }}],
                "toolChoice": {"tool": {"name": TOOL_NAME}},
            },
        }

    def complete_json(self, system: str, user: str, schema: dict[str, Any]) -> ProviderResult:
        """Call Converse once (botocore retries inside); map every failure to a status."""
        started = time.perf_counter()

        def failed(status: CallStatus, error: str, retries: int = 0) -> ProviderResult:
            elapsed_ms = (time.perf_counter() - started) * 1000
            return ProviderResult(status, None, "", Usage(), elapsed_ms, "", retries, error)

        try:
            response = self._client.converse(**self.request(system, user, schema))
        except ClientError as exc:
            error = exc.response.get("Error") or {}
            code = str(error.get("Code") or "ClientError")
            retries = int((exc.response.get("ResponseMetadata") or {}).get("RetryAttempts") or 0)
            status = CallStatus.THROTTLED if code in THROTTLE_CODES else CallStatus.ERROR
            if code in ("ModelTimeoutException",):
                status = CallStatus.TIMEOUT
            return failed(status, f"{code}: {error.get('Message', '')}"[:500], retries)
        except (ReadTimeoutError, ConnectTimeoutError) as exc:
            return failed(CallStatus.TIMEOUT, f"{type(exc).__name__}: {exc}"[:500])
        except NoCredentialsError:
            return failed(CallStatus.ERROR, "no AWS credentials in the environment")
        except (EndpointConnectionError, BotoCoreError) as exc:
            return failed(CallStatus.ERROR, f"{type(exc).__name__}: {exc}"[:500])
        result = interpret_converse(response)
        if result.latency_ms <= 0:
            elapsed_ms = (time.perf_counter() - started) * 1000
            return ProviderResult(result.status, result.parsed, result.raw_text, result.usage,
                                  elapsed_ms, result.stop_reason, result.retry_attempts,
                                  result.error)
        return result

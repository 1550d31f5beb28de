"""AWS Bedrock through boto3 ``converse``, structured output by forced tool use.

Its boto3 session comes from ``bot.llm.aws_session``. Model id (or inference profile), region
and endpoint come
from the config (``AWS_REGION`` / ``AWS_BEDROCK_MODEL`` override them); credentials only from
boto3's environment chain. Timeouts are explicit and botocore makes exactly one HTTP request per
``converse`` (``total_max_attempts=1``, which env ``AWS_MAX_ATTEMPTS`` cannot raise): retries
are the analyst's, each one governed. (``retries={"max_attempts": 1}`` would mean one *retry*.)
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    HTTPClientError,
    NoCredentialsError,
    ReadTimeoutError,
)

from bot.core.llm_reply import extract_json
from bot.llm.aws_session import new_session
from bot.llm.bounded_read import read_by
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
RETRYABLE_CODES = frozenset({"ThrottlingException", "TooManyRequestsException",
                             "ServiceUnavailableException", "InternalServerException",
                             "ModelTimeoutException", "ModelNotReadyException"})
RETRYABLE_HTTP = frozenset({429, 500, 502, 503, 504})
NEVER_RETRY_CODES = frozenset({"ServiceQuotaExceededException", "ValidationException",
                               "AccessDeniedException", "ResourceNotFoundException",
                               "ModelErrorException"})
TIMEOUT_CODES = frozenset({"ModelTimeoutException"})
SDK_ATTEMPTS = 1  # botocore's total per converse: it must never retry behind the governor


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int:
    try:
        return max(0, int(value or 0))
    except (TypeError, ValueError):
        return 0


def _usage(data: dict[str, Any]) -> tuple[Usage, bool]:
    """Token usage, and whether the reply stated it (unknown usage keeps the reservation)."""
    usage = Usage(
        input_tokens=_int(data.get("inputTokens")),
        output_tokens=_int(data.get("outputTokens")),
        cache_read_tokens=_int(data.get("cacheReadInputTokens")),
        cache_write_tokens=_int(data.get("cacheWriteInputTokens")),
    )
    return usage, "inputTokens" in data or "outputTokens" in data


def _latency_ms(response: dict[str, Any]) -> float:
    try:
        return float(_dict(response.get("metrics")).get("latencyMs") or 0.0)
    except (TypeError, ValueError):
        return 0.0


def interpret_converse(response: dict[str, Any]) -> ProviderResult:
    """Turn a Converse response into a result: tool input, or text JSON, or a parse failure.

    Every field is checked for its type: a reply of the wrong shape is a parse error, never an
    exception.
    """
    stop = str(response.get("stopReason") or "")
    usage, usage_known = _usage(_dict(response.get("usage")))
    latency_ms = _latency_ms(response)
    retries = _int(_dict(response.get("ResponseMetadata")).get("RetryAttempts"))
    content = _dict(_dict(response.get("output")).get("message")).get("content")
    blocks = [c for c in content if isinstance(c, dict)] if isinstance(content, list) else []
    tool_input = next((_dict(c["toolUse"]).get("input") for c in blocks if "toolUse" in c), None)
    text = "".join(str(c["text"]) for c in blocks if "text" in c)
    raw = text if tool_input is None else _dumps(tool_input)

    def result(status: CallStatus, parsed: dict[str, Any] | None, error: str) -> ProviderResult:
        return ProviderResult(status, parsed, raw, usage, latency_ms, stop, retries, error,
                              usage_known=usage_known)

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


class _ReadBody:
    """What botocore's AWSResponse expects of ``raw`` for a body already read."""

    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, *_: Any, **__: Any) -> Iterator[bytes]:
        yield self.body

    def close(self) -> None:
        return None


def bound_botocore_reads(client: Any, total_s: float) -> bool:
    """Make ``client`` read every reply within ``total_s`` of sending it; False (logged) when
    this botocore has no HTTP session where one is expected."""
    session = getattr(getattr(client, "_endpoint", None), "http_session", None)
    send = getattr(session, "send", None)
    if send is None:
        logger.warning("botocore's HTTP session not found: reply reads are bounded only by "
                       "the socket timeout")
        return False

    def bounded_send(request: Any) -> Any:
        deadline = time.monotonic() + total_s
        streamed = bool(getattr(request, "stream_output", True))
        request.stream_output = True  # botocore would read the body itself, unbounded
        try:
            response = send(request)
        finally:
            request.stream_output = streamed
        if streamed:  # a streaming operation: its reader is botocore's caller
            return response
        try:
            body = read_by(response.raw, deadline)
        except TimeoutError as exc:
            raise ReadTimeoutError(endpoint_url=request.url, error=exc) from None
        except ValueError as exc:  # a reply beyond MAX_REPLY_BYTES
            raise HTTPClientError(error=exc) from None
        except Exception as exc:  # urllib3's own errors (its package is botocore's business)
            response.raw.close()
            if "timeout" in type(exc).__name__.lower():
                raise ReadTimeoutError(endpoint_url=request.url, error=exc) from None
            raise HTTPClientError(error=exc) from None
        release = getattr(response.raw, "release_conn", None)
        if release is not None:
            release()  # the body is read: the connection goes back to the pool
        response.raw = _ReadBody(body)
        return response

    session.send = bounded_send
    return True


class BedrockProvider:
    """Converse with forced tool use; remote failures become statuses, never exceptions."""

    name = "bedrock"

    def __init__(self, cfg: LlmConfig) -> None:
        self.cfg = cfg
        self.model = cfg.bedrock_model
        self._session = new_session(cfg.aws_region)
        config = Config(
            connect_timeout=cfg.connect_timeout_s,
            read_timeout=cfg.read_timeout_s,
            retries={"mode": "standard", "total_max_attempts": SDK_ATTEMPTS},
        )
        self._client = self._session.client(
            "bedrock-runtime", region_name=cfg.aws_region, config=config,
            endpoint_url=cfg.bedrock_endpoint_url or None,
        )
        bound_botocore_reads(self._client, cfg.read_timeout_s)

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
        """One HTTP request to Converse; every failure becomes a status, retryable or not."""
        started = time.perf_counter()
        request = self.request(system, user, schema)

        def failed(status: CallStatus, error: str, retryable: bool = False,
                   usage_known: bool = True) -> ProviderResult:
            elapsed_ms = (time.perf_counter() - started) * 1000
            return ProviderResult(status, None, "", Usage(), elapsed_ms, "", 0, error[:500],
                                  retryable, usage_known)

        try:
            response = self._client.converse(**request)
        except ClientError as exc:
            error = _dict(exc.response.get("Error"))
            http = _int(_dict(exc.response.get("ResponseMetadata")).get("HTTPStatusCode"))
            code = str(error.get("Code") or f"HTTP {http}")
            status = CallStatus.THROTTLED if code in THROTTLE_CODES else CallStatus.ERROR
            if code in TIMEOUT_CODES:
                status = CallStatus.TIMEOUT
            retryable = code in RETRYABLE_CODES or (
                code not in NEVER_RETRY_CODES and http in RETRYABLE_HTTP)
            return failed(status, f"{code}: {error.get('Message', '')}", retryable)
        except ReadTimeoutError as exc:  # sent: the model may still answer and bill it
            return failed(CallStatus.TIMEOUT, f"ReadTimeoutError: {exc}", True, False)
        except ConnectTimeoutError as exc:  # never reached the service
            return failed(CallStatus.TIMEOUT, f"ConnectTimeoutError: {exc}", True)
        except HTTPClientError as exc:  # sent, then the connection broke: may be billed
            return failed(CallStatus.ERROR, f"{type(exc).__name__}: {exc}", usage_known=False)
        except NoCredentialsError:
            return failed(CallStatus.ERROR, "no AWS credentials in the environment")
        except (EndpointConnectionError, BotoCoreError) as exc:
            return failed(CallStatus.ERROR, f"{type(exc).__name__}: {exc}")
        except (ValueError, TypeError, AttributeError, KeyError) as exc:
            # botocore's parser gives up on a body that is not Converse JSON (a garbage reply)
            logger.warning("unreadable Converse reply: %s: %s", type(exc).__name__, exc)
            return failed(CallStatus.PARSE_ERROR, f"unreadable reply: {type(exc).__name__}: "
                          f"{exc}", usage_known=False)
        result = interpret_converse(response if isinstance(response, dict) else {})
        if result.latency_ms <= 0:
            elapsed_ms = (time.perf_counter() - started) * 1000
            return replace(result, latency_ms=elapsed_ms)
        return result

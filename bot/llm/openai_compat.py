"""OpenAI-compatible chat completions over HTTP (Ollama, LM Studio, vLLM) with a JSON schema.

Stdlib ``urllib`` only. The key, if the server wants one, comes from env ``OPENAI_API_KEY``.
429 and 5xx are retried up to ``max_attempts`` in total with a short backoff.
"""

from __future__ import annotations

import json
import logging
import os
import time
import urllib.error
import urllib.request
from typing import Any

from bot.core.llm_reply import extract_json
from bot.llm.types import CallStatus, ProviderResult, Usage
from shared.config.settings import LlmConfig

logger = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
BACKOFF_S = 0.2


class OpenAICompatibleProvider:
    """POST {base}/chat/completions with ``response_format: json_schema``."""

    name = "openai_compatible"

    def __init__(self, cfg: LlmConfig, env: dict[str, str] | None = None) -> None:
        self.cfg = cfg
        self.model = cfg.openai_model
        self.base_url = cfg.openai_base_url.rstrip("/")
        self._api_key = (env if env is not None else dict(os.environ)).get("OPENAI_API_KEY", "")

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        return headers

    def availability(self) -> tuple[bool, str]:
        """Available when ``GET {base}/models`` answers."""
        request = urllib.request.Request(self.base_url + "/models", headers=self._headers())
        try:
            with urllib.request.urlopen(request, timeout=self.cfg.connect_timeout_s) as reply:
                reply.read()
        except urllib.error.HTTPError as exc:
            return exc.code < 500, f"{self.base_url} answered HTTP {exc.code}"
        except (OSError, ValueError) as exc:
            return False, f"{self.base_url} unreachable: {exc}"
        return True, f"{self.model} at {self.base_url}"

    def request_body(self, system: str, user: str, schema: dict[str, Any]) -> dict[str, Any]:
        """The chat-completions body with a strict JSON-schema response format."""
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": "system", "content": system},
                         {"role": "user", "content": user}],
            "max_tokens": self.cfg.max_output_tokens,
            "response_format": {"type": "json_schema", "json_schema": {
                "name": "market_bias", "schema": schema, "strict": True}},
            "stream": False,
        }
        if self.cfg.temperature is not None:
            body["temperature"] = self.cfg.temperature
        return body

    def _post(self, body: bytes) -> tuple[int, bytes, str]:
        request = urllib.request.Request(self.base_url + "/chat/completions", data=body,
                                         headers=self._headers(), method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.cfg.read_timeout_s) as reply:
                return reply.status, reply.read(), ""
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read(), f"HTTP {exc.code}"

    def complete_json(self, system: str, user: str, schema: dict[str, Any]) -> ProviderResult:
        """One logical call (retried on 429/5xx); remote failures become statuses."""
        started = time.perf_counter()
        body = json.dumps(self.request_body(system, user, schema)).encode()

        def failed(status: CallStatus, error: str, retries: int) -> ProviderResult:
            elapsed_ms = (time.perf_counter() - started) * 1000
            return ProviderResult(status, None, "", Usage(), elapsed_ms, "", retries, error)

        retries = 0
        while True:
            try:
                code, payload, error = self._post(body)
            except TimeoutError:
                return failed(CallStatus.TIMEOUT, "read timed out", retries)
            except (urllib.error.URLError, OSError) as exc:
                reason = getattr(exc, "reason", exc)
                if isinstance(reason, TimeoutError):
                    return failed(CallStatus.TIMEOUT, "timed out", retries)
                return failed(CallStatus.ERROR, f"unreachable: {reason}"[:500], retries)
            if code in RETRY_STATUSES and retries + 1 < self.cfg.max_attempts:
                retries += 1
                time.sleep(BACKOFF_S * retries)
                continue
            break
        if code == 429:
            return failed(CallStatus.THROTTLED, error, retries)
        if code in (401, 403):
            return failed(CallStatus.ERROR, f"access denied ({error})", retries)
        if code >= 400:
            return failed(CallStatus.ERROR, f"{error}: {payload[:300]!r}", retries)
        return self._interpret(payload, started, retries)

    def _interpret(self, payload: bytes, started: float, retries: int) -> ProviderResult:
        elapsed_ms = (time.perf_counter() - started) * 1000
        try:
            data = json.loads(payload)
            choice = data["choices"][0]
            text = str(choice["message"].get("content") or "")
            finish = str(choice.get("finish_reason") or "")
            usage_data = data.get("usage") or {}
        except (json.JSONDecodeError, KeyError, IndexError, TypeError, AttributeError) as exc:
            return ProviderResult(CallStatus.ERROR, None, payload[:2000].decode(errors="replace"),
                                  Usage(), elapsed_ms, "", retries,
                                  f"not a chat completion: {type(exc).__name__}")
        usage = Usage(input_tokens=int(usage_data.get("prompt_tokens") or 0),
                      output_tokens=int(usage_data.get("completion_tokens") or 0))
        stop = "max_tokens" if finish == "length" else finish
        if finish == "length":
            return ProviderResult(CallStatus.PARSE_ERROR, None, text, usage, elapsed_ms, stop,
                                  retries, "model stopped: max_tokens")
        if finish == "content_filter":
            return ProviderResult(CallStatus.REFUSED, None, text, usage, elapsed_ms, stop,
                                  retries, "model stopped: content_filter")
        parsed = extract_json(text)
        status = CallStatus.OK if parsed is not None else CallStatus.PARSE_ERROR
        error = "" if parsed is not None else "no JSON object in the reply"
        return ProviderResult(status, parsed, text, usage, elapsed_ms, stop, retries, error)

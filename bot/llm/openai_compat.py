"""OpenAI-compatible chat completions over HTTP (Ollama, LM Studio, vLLM) with a JSON schema.

Stdlib ``urllib`` only. The key, if the server wants one, comes from env ``OPENAI_API_KEY``.
One ``complete_json`` is one HTTP request: urllib never retries, and the opener here follows no
redirects (urllib would re-send a redirected POST as a GET). 429, 5xx and timeouts are marked
retryable; the analyst retries them, each attempt governed.
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
from bot.llm.bounded_read import read_by
from bot.llm.types import CallStatus, ProviderResult, Usage
from shared.config.settings import LlmConfig

logger = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer (an HTTP error here), never a second, ungoverned request."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ANN001 - stdlib
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


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
        """One POST whose whole life (connect, headers, body) ends by ``read_timeout_s``: a
        server trickling bytes cannot keep the thread and its socket past it."""
        deadline = time.monotonic() + self.cfg.read_timeout_s
        request = urllib.request.Request(self.base_url + "/chat/completions", data=body,
                                         headers=self._headers(), method="POST")
        try:
            with _OPENER.open(request, timeout=self.cfg.read_timeout_s) as reply:
                return reply.status, read_by(reply, deadline), ""
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, read_by(exc, deadline), f"HTTP {exc.code}"

    def complete_json(self, system: str, user: str, schema: dict[str, Any]) -> ProviderResult:
        """One HTTP request; remote failures become statuses, transient ones retryable."""
        started = time.perf_counter()
        body = json.dumps(self.request_body(system, user, schema)).encode()

        def failed(status: CallStatus, error: str, retryable: bool = False,
                   usage_known: bool = True) -> ProviderResult:
            elapsed_ms = (time.perf_counter() - started) * 1000
            return ProviderResult(status, None, "", Usage(), elapsed_ms, "", 0, error[:500],
                                  retryable, usage_known)

        try:
            code, payload, error = self._post(body)
        except TimeoutError:
            return failed(CallStatus.TIMEOUT, "read timed out", True, False)
        except ValueError as exc:  # a reply beyond MAX_REPLY_BYTES
            return failed(CallStatus.ERROR, str(exc), False, False)
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            if isinstance(reason, TimeoutError):
                return failed(CallStatus.TIMEOUT, "connect timed out", True)
            return failed(CallStatus.ERROR, f"unreachable: {reason}")
        retryable = code in RETRY_STATUSES
        if code == 429:
            return failed(CallStatus.THROTTLED, error, retryable)
        if code in (401, 403):
            return failed(CallStatus.ERROR, f"access denied ({error})")
        if code >= 300:
            return failed(CallStatus.ERROR, f"{error}: {payload[:300]!r}", retryable)
        return self._interpret(payload, started)

    def _interpret(self, payload: bytes, started: float) -> ProviderResult:
        elapsed_ms = (time.perf_counter() - started) * 1000
        try:
            data = json.loads(payload)
            choice = data["choices"][0]
            text = str(choice["message"].get("content") or "")
            finish = str(choice.get("finish_reason") or "")
            usage_data = data.get("usage") or {}
            usage = Usage(input_tokens=int(usage_data.get("prompt_tokens") or 0),
                          output_tokens=int(usage_data.get("completion_tokens") or 0))
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
            return ProviderResult(CallStatus.PARSE_ERROR, None,
                                  payload[:2000].decode(errors="replace"), Usage(), elapsed_ms,
                                  "", 0, f"not a chat completion: {type(exc).__name__}",
                                  usage_known=False)
        stop = "max_tokens" if finish == "length" else finish
        if finish == "length":
            return ProviderResult(CallStatus.PARSE_ERROR, None, text, usage, elapsed_ms, stop,
                                  0, "model stopped: max_tokens")
        if finish == "content_filter":
            return ProviderResult(CallStatus.REFUSED, None, text, usage, elapsed_ms, stop,
                                  0, "model stopped: content_filter")
        parsed = extract_json(text)
        status = CallStatus.OK if parsed is not None else CallStatus.PARSE_ERROR
        error = "" if parsed is not None else "no JSON object in the reply"
        return ProviderResult(status, parsed, text, usage, elapsed_ms, stop, 0, error)

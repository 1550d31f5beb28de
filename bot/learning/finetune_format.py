"""Validator of Bedrock's fine-tuning JSONL for Anthropic Claude (conversational format).

Each line: ``{"system": str, "messages": [{"role": "user", "content": str},
{"role": "assistant", "content": str}, ...]}`` — ``system`` optional, no other keys anywhere;
the first message from the user, the last from the assistant, roles alternating, every content
a non-empty string. Every line the export writes passes this check first.
"""

from __future__ import annotations

import json
from typing import Any

TOP_KEYS = frozenset({"system", "messages"})
MESSAGE_KEYS = frozenset({"role", "content"})
ROLES = ("user", "assistant")


def record_problems(record: Any) -> list[str]:
    """Everything wrong with one decoded record (empty when it is valid)."""
    if not isinstance(record, dict):
        return ["the line is not a JSON object"]
    problems = []
    extra = sorted(set(record) - TOP_KEYS)
    if extra:
        problems.append(f"unexpected key(s): {', '.join(extra)}")
    if "system" in record and (not isinstance(record["system"], str)
                               or not record["system"].strip()):
        problems.append("system: must be a non-empty string")
    messages = record.get("messages")
    if not isinstance(messages, list) or not messages:
        return [*problems, "messages: must be a non-empty list"]
    for index, message in enumerate(messages):
        where = f"messages[{index}]"
        if not isinstance(message, dict):
            problems.append(f"{where}: must be an object")
            continue
        extra = sorted(set(message) - MESSAGE_KEYS)
        missing = sorted(MESSAGE_KEYS - set(message))
        if extra:
            problems.append(f"{where}: unexpected key(s): {', '.join(extra)}")
        if missing:
            problems.append(f"{where}: missing {', '.join(missing)}")
        wanted = ROLES[index % 2]
        if message.get("role") != wanted:
            problems.append(f"{where}.role: {message.get('role')!r}, expected {wanted!r} "
                            "(user first, then alternating)")
        content = message.get("content")
        if not isinstance(content, str) or not content.strip():
            problems.append(f"{where}.content: must be a non-empty string")
    if isinstance(messages[-1], dict) and messages[-1].get("role") != "assistant":
        problems.append("the last message must be the assistant's")
    return problems


def line_problems(line: str) -> list[str]:
    """Everything wrong with one JSONL line."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        return [f"not JSON: {exc.msg}"]
    return record_problems(record)


def file_problems(text: str) -> list[str]:
    """Problems of a whole JSONL file, each prefixed with its line number."""
    problems = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            problems.append(f"line {number}: empty line")
            continue
        problems.extend(f"line {number}: {p}" for p in line_problems(line))
    return problems

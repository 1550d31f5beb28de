"""Benchmark: the analyst roles' debate bias, the share of BULLISH answers on a balanced market.

Builds ``pairs`` random market snapshots and the mirror image of each (EMA spread, MACD
histogram, rate of change negated, RSI reflected about 50, the same volatility label), so the
evidence is exactly balanced between up and down. Each prompt is built by the real context
builder and answered by the real roles pipeline (``bot.llm.roles``: governed calls through the
real boto3 client) against the fake Bedrock on loopback, whose deterministic model reads the
evidence in each role's prompt (``tests/fakellm/evidence.py``; no language model). The single
analyst answers the same prompts for comparison. ``--optimism X`` adds X to the bull's rating
(a model that leans bullish in debate) to show the measure picks a drift up.

It measures the pipeline's own tilt (the synthesis, the order, the reviewer) under a model
that has none, not a real model's. Usage: ``python benchmarks/bench_roles_bias.py [pairs]
[--optimism X]``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.llm.analyst import Analyst  # noqa: E402
from bot.llm.bedrock import BedrockProvider  # noqa: E402
from bot.llm.roles.governed import analyze_with_roles  # noqa: E402
from bot.llm.roles.spec import SYSTEMS, RoleName  # noqa: E402
from bot.llm.routing import ProviderRouter  # noqa: E402
from shared.config.settings import LlmConfig  # noqa: E402
from shared.persistence.db import open_database  # noqa: E402
from tests.fakellm.evidence import balanced_requests, evidence_responder  # noqa: E402
from tests.fakellm.server import FakeLlmServer, Step  # noqa: E402


def optimistic(optimism: float):
    """The evidence model, with the bull's rating raised by ``optimism`` (capped at 1)."""
    def respond(record: dict[str, Any]) -> Step:
        step = evidence_responder(record)
        if optimism and record["body"]["system"][0]["text"] == SYSTEMS[RoleName.BULL]:
            payload = dict(step.payload)
            payload["confidence"] = min(1.0, payload["confidence"] + optimism)
            return Step(payload=payload)
        return step
    return respond


def shares(replies: list[Any]) -> str:
    counts = Counter(r.bias.value if r is not None else "none" for r in replies)
    total = len(replies)
    return ", ".join(f"{name} {counts[name]}/{total} ({counts[name] / total:.1%})"
                     for name in ("BULLISH", "BEARISH", "NEUTRAL", "none"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pairs", nargs="?", type=int, default=100)
    parser.add_argument("--optimism", type=float, default=0.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    for name, value in {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                        "AWS_EC2_METADATA_DISABLED": "true"}.items():
        os.environ.setdefault(name, value)
    requests = balanced_requests(args.pairs)
    with tempfile.TemporaryDirectory() as folder, \
            FakeLlmServer(responder=optimistic(args.optimism)) as fake:
        conn = open_database(Path(folder) / "bias.db")
        cfg = LlmConfig.model_validate({
            "enabled": True, "provider": "bedrock", "bedrock_endpoint_url": fake.url,
            "reply_cache_minutes": 0, "daily_call_quota": 100000,
            "roles": {"enabled": True}})
        router = ProviderRouter(BedrockProvider)
        single = Analyst(conn, cfg, router.provider(cfg, cfg.bedrock_model),
                         lambda: datetime.now(UTC))
        roles = [analyze_with_roles(conn, cfg, router, r, single).reply for r in requests]
        singles = [single.analyze(r).reply for r in requests]
        sent = fake.count("/converse")
        conn.close()
    print(f"balanced market: {len(requests)} prompts ({args.pairs} mirrored pairs), "
          f"bull optimism {args.optimism:+.2f}, {sent} HTTP requests to the fake")
    print(f"roles pipeline: {shares(roles)}")
    print(f"single analyst: {shares(singles)}")
    directional = [r for r in roles if r is not None and r.bias.value != "NEUTRAL"]
    bullish = sum(r.bias.value == "BULLISH" for r in directional)
    print(f"roles BULLISH share of directional answers: {bullish}/{len(directional)} "
          f"({bullish / max(1, len(directional)):.1%})")
    for name, replies in (("roles", roles), ("single", singles)):
        signed = [r.confidence * {"BULLISH": 1, "BEARISH": -1}.get(r.bias.value, 0)
                  for r in replies if r is not None]
        print(f"{name} mean signed confidence (BULLISH +, BEARISH -): "
              f"{sum(signed) / max(1, len(signed)):+.4f}")


if __name__ == "__main__":
    main()

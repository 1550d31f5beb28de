"""A fake model that answers from the prompt's evidence (deterministic; no language model).

It reads the market snapshot the prompt carries (``Market snapshot (JSON):`` line) and scores
the technical evidence from -1 to 1: the mean sign of the fast-minus-slow EMA, the MACD
histogram, RSI minus 50 and the rate of change. Each role answers that evidence honestly: the
market analyst and the single analyst with a direction beyond half agreement, the memory
analyst NEUTRAL without memory, the bull and the bear rating their side's case by how much of
the evidence supports it, the reviewer keeping the draft (lowering it in high volatility). It
is symmetric by construction: a mirrored snapshot gets the mirrored answer. Used to check that
the roles pipeline itself adds no side (docs/llm-roles.md) and to make record/replay tests
answer differently at different bars.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from bot.llm.analyst import AnalysisRequest
from bot.llm.context import Snapshot, build_request
from bot.llm.roles.spec import SYSTEMS, RoleName
from bot.llm.types import Trigger, TriggerKind
from tests.fakellm.server import Step

SNAPSHOT_MARK = "Market snapshot (JSON):\n"
START = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)


def _sign(value: Any) -> float:
    if not isinstance(value, int | float) or value == 0:
        return 0.0
    return 1.0 if value > 0 else -1.0


def snapshot_of(user: str) -> dict[str, Any]:
    """The snapshot JSON inside a prompt ({} when absent)."""
    start = user.find(SNAPSHOT_MARK)
    if start < 0:
        return {}
    line = user[start + len(SNAPSHOT_MARK):].split("\n", 1)[0]
    try:
        value = json.loads(line)
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def evidence(snapshot: dict[str, Any]) -> float:
    """The technical evidence from -1 (all bearish) to 1 (all bullish)."""
    f = snapshot.get("features") or {}
    fast, slow, rsi = f.get("ema_fast"), f.get("ema_slow"), f.get("rsi")
    signs = [
        _sign(fast - slow) if isinstance(fast, int | float) and isinstance(slow, int | float)
        else 0.0,
        _sign(f.get("macd_hist")),
        _sign(rsi - 50) if isinstance(rsi, int | float) else 0.0,
        _sign(f.get("rate_of_change_pct")),
    ]
    return sum(signs) / len(signs)


def _bias_reply(score: float) -> dict[str, Any]:
    if score >= 0.5:
        bias, action = "BULLISH", "BUY"
    elif score <= -0.5:
        bias, action = "BEARISH", "SELL"
    else:
        bias, action = "NEUTRAL", "HOLD"
    confidence = round(0.4 + 0.4 * abs(score), 4) if bias != "NEUTRAL" else 0.2
    return {"bias": bias, "confidence": confidence, "action": action,
            "rationale": f"evidence {score:+.2f}", "key_factors": [], "risk_notes": ""}


def role_reply(system: str, user: str) -> dict[str, Any]:
    """The reply the role whose system prompt is ``system`` gives to ``user``."""
    snapshot = snapshot_of(user)
    score = evidence(snapshot)
    if system == SYSTEMS[RoleName.MEMORY]:
        return _bias_reply(0.0)  # no memory in these snapshots: NEUTRAL, low confidence
    if system == SYSTEMS[RoleName.BULL]:
        return {"confidence": round(0.9 * (1 + score) / 2, 4), "argument": "up evidence"}
    if system == SYSTEMS[RoleName.BEAR]:
        return {"confidence": round(0.9 * (1 - score) / 2, 4), "argument": "down evidence"}
    if system == SYSTEMS[RoleName.RISK]:
        volatility = (snapshot.get("regime") or {}).get("volatility")
        if volatility == "high":
            return {"verdict": "lower", "confidence": 0.3, "reason": "high volatility"}
        return {"verdict": "keep", "confidence": 1.0, "reason": "within limits"}
    return _bias_reply(score)  # the market analyst and the single analyst


def evidence_responder(record: dict[str, Any]) -> Step:
    """A FakeLlmServer responder answering each Converse request from its evidence."""
    body = record.get("body") or {}
    system = body["system"][0]["text"]
    user = body["messages"][0]["content"][0]["text"]
    return Step(payload=role_reply(system, user))


def features(rng: np.random.Generator) -> dict[str, float]:
    """One random set of the evidence features around 5000."""
    spread = float(rng.normal(0, 1.5))
    return {"close": 5000.0, "ema_fast": 5000.0 + spread / 2, "ema_slow": 5000.0 - spread / 2,
            "macd_hist": float(rng.normal(0, 0.8)), "rsi": float(np.clip(rng.normal(50, 12),
                                                                         1, 99)),
            "rate_of_change_pct": float(rng.normal(0, 0.2))}


def mirrored(f: dict[str, float]) -> dict[str, float]:
    """The same market upside down."""
    return {"close": f["close"], "ema_fast": f["ema_slow"], "ema_slow": f["ema_fast"],
            "macd_hist": -f["macd_hist"], "rsi": 100 - f["rsi"],
            "rate_of_change_pct": -f["rate_of_change_pct"]}


def balanced_requests(pairs: int, seed: int = 11) -> list[AnalysisRequest]:
    """``2 * pairs`` prompts: each random snapshot and its mirror image."""
    rng = np.random.default_rng(seed)
    requests = []
    for index in range(pairs):
        volatility = str(rng.choice(["low", "normal", "high"]))
        base = features(rng)
        for side, feats in enumerate((base, mirrored(base))):
            ts = START + timedelta(minutes=2 * index + side)
            snapshot = Snapshot("MES", ts.isoformat(), 5000.0, {k: round(v, 4) for k, v in
                                                              feats.items()},
                                {"volatility": volatility, "trend": "range"}, {}, None, 0.0)
            trigger = Trigger(TriggerKind.VOLATILITY_SPIKE, ts, {})
            requests.append(build_request(trigger, snapshot))
    return requests

"""A caller process for the governor concurrency test: threads calling the analyst at once.

``python -m tests.bot.llm.governor_proc DB URL THREADS CALLS QUOTA LIMIT_USD FOLDER``: writes
``ready-<pid>`` into FOLDER, waits for FOLDER/go, then every thread makes CALLS analyses.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

from bot.llm.bedrock import BedrockProvider
from shared.persistence.db import connect
from tests.bot.llm.conftest import analyst, llm_config, request

MODEL = "global.anthropic.claude-haiku-4-5-20251001-v1:0"


def main() -> int:
    db, url, threads, calls, quota, limit_usd, folder = sys.argv[1:8]
    cfg = llm_config(provider="bedrock", bedrock_model=MODEL, bedrock_endpoint_url=url,
                     daily_call_quota=int(quota), daily_cost_limit_usd=float(limit_usd))
    provider = BedrockProvider(cfg)
    go = Path(folder) / "go"
    (Path(folder) / f"ready-{threading.get_native_id()}").touch()
    while not go.exists():
        time.sleep(0.01)

    def work() -> None:
        conn = connect(db)
        try:
            for _ in range(int(calls)):
                analyst(conn, cfg, provider).analyze(request("same prompt"))
        finally:
            conn.close()

    workers = [threading.Thread(target=work) for _ in range(int(threads))]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return 0


if __name__ == "__main__":
    sys.exit(main())

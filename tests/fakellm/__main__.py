"""Run the fake LLM server: ``python -m tests.fakellm --port P [--delay S]`` (Ctrl-C stops)."""

from __future__ import annotations

import argparse
import threading

from tests.fakellm.server import FakeLlmServer, Step


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.fakellm")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before each answer")
    args = parser.parse_args()
    with FakeLlmServer(Step(delay_s=args.delay), port=args.port) as fake:
        print(f"fake LLM listening on {fake.url}", flush=True)  # noqa: T201 - the ready line
        threading.Event().wait()


if __name__ == "__main__":
    main()

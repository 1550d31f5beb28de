"""``python -m bot`` loads only the running subcommand's module; every command keeps its flags."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.__main__ import EAGER_COMMANDS, LAZY_COMMANDS, build_parser
from bot.lazy_commands import chosen_command

ROOT = Path(__file__).resolve().parents[2]


def test_chosen_command() -> None:
    assert chosen_command(["backtest", "--strategy", "x"], LAZY_COMMANDS) == "backtest"
    assert chosen_command(["--help"], LAZY_COMMANDS) is None
    assert chosen_command(["run", "--db", "x"], LAZY_COMMANDS) is None  # not a lazy one
    assert chosen_command(["run", "--db", "x"], (*LAZY_COMMANDS, *EAGER_COMMANDS)) == "run"
    assert chosen_command([], LAZY_COMMANDS) is None


def test_the_full_parser_knows_the_lazy_commands_flags() -> None:
    parser = build_parser()
    for argv in (["backtest", "--strategy", "rsi_macd_bracket", "--bars", "10"],
                 ["research", "--cancel-all"]):
        assert callable(parser.parse_args(argv).handler)


def test_a_chosen_command_parses_as_with_the_full_parser() -> None:
    argv = ["backtest", "--strategy", "rsi_macd_bracket", "--bars", "10", "--json", "out.json"]
    full, lazy = build_parser().parse_args(argv), build_parser("backtest").parse_args(argv)
    assert vars(full) == vars(lazy)


PROBE = """
import json, sys
from bot.backtest.runner import run_backtest
from bot.backtest.cli import request_from_args
import bot.__main__ as entry
args = entry.build_parser(entry.chosen_command(sys.argv[1:], entry.LAZY_COMMANDS)).parse_args(
    sys.argv[1:])
result = run_backtest(request_from_args(args))
print(json.dumps({"trades": len(result.trades), "modules": sorted(sys.modules)}))
"""


@pytest.mark.integration
def test_a_reference_backtest_loads_neither_other_commands_nor_the_engine() -> None:
    """A fresh process running a reference-strategy backtest never imports the research,
    evaluation or learning CLIs, the decision engine, the session calendar or the LLM."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, "backtest", "--strategy", "rsi_macd_bracket", "--bars",
         "3000"], cwd=ROOT, capture_output=True, text=True, check=True, timeout=120)
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["trades"] > 0
    loaded = set(found["modules"])
    for module in ("bot.research.cli", "bot.evaluation.cli", "bot.learning.review_cli",
                   "bot.learning.export_cli", "bot.llm.analyze_cli", "bot.backup_cli",
                   "bot.core.engine", "bot.backtest.engine_run", "exchange_calendars",
                   "bot.backtest.llm_run", "asyncio"):  # asyncio: the live loop's signals
        assert module not in loaded, module
    assert "bot.backtest.reference" in loaded  # the probe did run the backtest


RUN_PROBE = """
import json, sys
import bot.__main__ as entry
code = entry.main(sys.argv[1:])  # the config file is missing: exits 2 after parsing the flags
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


@pytest.mark.integration
def test_the_bot_run_command_loads_no_other_command(tmp_path: Path) -> None:
    """``python -m bot run`` (every bot start) parses its flags without importing the backtest,
    research, evaluation, learning or LLM CLIs (about 0.8 s CPU per start)."""
    done = subprocess.run(
        [sys.executable, "-c", RUN_PROBE, "run", "--config", str(tmp_path / "missing.yaml"),
         "--db", str(tmp_path / "x.db")], cwd=ROOT, capture_output=True, text=True, check=True,
        timeout=120)
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["code"] == 2  # the missing config, reported after the flags were parsed
    loaded = set(found["modules"])
    for module in ("bot.backtest.cli", "bot.research.cli", "bot.evaluation.cli",
                   "bot.learning.review_cli", "bot.learning.export_cli", "bot.llm.analyze_cli",
                   "bot.backup_cli", "bot.learning.finetune_cli", "bot.maintenance.cli"):
        assert module not in loaded, module

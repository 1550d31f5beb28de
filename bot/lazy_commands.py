"""Subcommands of ``python -m bot`` whose modules load only when they run.

Importing every subcommand's module (research, evaluation, learning, LLM, backup) cost each
process about 0.2 s CPU before it did anything: a backtest paid for the research CLI. A
subcommand registered here is listed by name and help as before; its flags and handler are
loaded only when it is the command being run (or when no command is named, e.g. ``--help``).
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Sequence
from typing import Any


def chosen_command(argv: Sequence[str] | None, known: Sequence[str]) -> str | None:
    """The subcommand ``argv`` runs, or None when it names none of ``known`` (full parser)."""
    first = next((arg for arg in argv or () if not arg.startswith("-")), None)
    return first if first in known else None


def add_command(
    commands: Any, name: str, module: str, handler: str, text: str, chosen: str | None,
) -> None:
    """Register ``name``; import ``module`` for its flags and handler only if it may run."""
    sub: argparse.ArgumentParser = commands.add_parser(name, help=text)
    if chosen is not None and chosen != name:
        return
    cli = importlib.import_module(module)
    cli.add_arguments(sub)
    sub.set_defaults(handler=getattr(cli, handler))

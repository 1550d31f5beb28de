"""Run the fault suite's drivers against real bot processes and print what survived.

Each driver (tests/faults/scenarios.py, bad_input.py, bad_prints.py, llm_scenarios.py) starts
the real ``python -m bot run`` (or the dashboard launcher), injects one fault and checks the
journal's invariants. Prints one table: faults tried, survived, journal rows lost, duplicate orders,
positions without a working stop, and restart -> first decision seconds (where the fault has a
restart). Asserts nothing. The IB faults (gateway drop, kill -9 with the fake gateway) run as
tests in tests/faults/test_ib_faults.py. Usage: ``python benchmarks/bench_faults.py``.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.faults import (  # noqa: E402
    bad_input,
    bad_prints,
    engine_fault,
    journal_safety,
    llm_scenarios,
    scenarios,
)

logger = logging.getLogger("bench")


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the table; None where a figure does not apply to the fault."""

    fault: str
    survived: bool
    rows_lost: int | None = None
    duplicate_orders: int | None = None
    naked_positions: int | None = None
    restart_to_first_decision_s: float | None = None
    note: str = ""
    wrong_pnl: int | None = None  # trades whose P&L disagrees with their prices


def folder(work: Path, name: str) -> Path:
    """A fresh scratch folder for one scenario (the drivers expect it to exist)."""
    path = work / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def process_faults(work: Path) -> list[Row]:
    """SIGTERM at speed, kill -9 in a position, a locked journal and (as root) a full disk."""
    results = [
        scenarios.sigterm_at_speed(folder(work, "sigterm_1e6"), 1_000_000),
        scenarios.sigterm_at_speed(folder(work, "sigterm_5000"), 5000),
        scenarios.kill9_in_position(folder(work, "kill9"), kills=5),
        scenarios.db_locked(folder(work, "locked")),
    ]
    results.append(engine_fault.engine_exception_in_position(folder(work, "engine_fault")))
    try:
        with scenarios.mounted_tmpfs(work / "small_fs", "3m") as small:
            results.append(scenarios.disk_full(folder(work, "disk_full"), small))
    except scenarios.TmpfsUnavailable as exc:
        logger.warning("disk full skipped: %s", exc)
    return [Row(r.fault, r.survived, r.rows_lost, r.duplicate_orders, r.naked_positions,
                r.restart_to_first_decision_s, "; ".join(r.problems)[:60]) for r in results]


def journal_safety_faults(work: Path) -> list[Row]:
    """Two bots on one journal, a damaged or newer journal, the file deleted or replaced while
    running, backups while running, SIGHUP and a SIGINT storm, a SIGSTOP backlog."""
    runs: list[Callable[[Path], scenarios.FaultResult]] = [
        journal_safety.two_bots_one_journal, journal_safety.damaged_journal,
        journal_safety.newer_schema,
        lambda w: journal_safety.journal_file_gone(w, "deleted"),
        lambda w: journal_safety.journal_file_gone(w, "replaced"),
        lambda w: journal_safety.journal_file_gone(w, "wal_deleted"),
        journal_safety.backup_while_running,
        lambda w: journal_safety.stop_signal(w, "sighup"),
        lambda w: journal_safety.stop_signal(w, "sigint_storm"),
        journal_safety.frozen_then_backlog,
    ]
    rows = []
    for index, run in enumerate(runs):
        r = run(folder(work, f"journal_{index}"))
        rows.append(Row(r.fault, r.survived, r.rows_lost, r.duplicate_orders, r.naked_positions,
                        r.restart_to_first_decision_s, "; ".join(r.problems)[:60],
                        r.detail.get("wrong_pnl")))
    return rows


def bad_input_faults(work: Path) -> list[Row]:
    """Garbage config edits while running, unusable replay files, an open dashboard."""
    results = bad_input.bad_config_edits(folder(work, "config_edits"))
    for kind in ("binary", "non_utf8", "empty", "wrong_columns"):
        results.append(bad_input.unusable_replay_file(folder(work, f"replay_{kind}"), kind))
    results.append(bad_input.out_of_order_replay_file(folder(work, "replay_out_of_order")))
    results.append(bad_input.dashboard_without_password("0.0.0.0"))
    results.append(bad_input.dashboard_without_password(""))
    return [Row(r.fault, r.survived, note=r.detail[:60]) for r in results]


def bad_print_faults(work: Path) -> list[Row]:
    """One replay file with two bad prints (OHLC 0.25 in a long, a 50000 high), live and
    backtested: fills at a bad price count as wrong P&L rows; the note gives what the same
    backtest does without the filter."""
    result = bad_prints.bad_print_replay(folder(work, "bad_prints"))
    note = (f"{result.bad_price_fills} bad-price fills, {result.bad_bar_events} bad_bar, "
            f"parity {'yes' if result.parity else 'NO'}; unfiltered worst "
            f"${result.unfiltered_worst_trade_cents / 100:,.0f}")
    return [Row(result.fault, result.survived, note=note)]


def llm_faults(work: Path) -> list[Row]:
    """LLM endpoint down, throttling, slow, garbage and hostile replies."""
    rows = []
    runners: dict[str, Callable[[Path], llm_scenarios.FaultResult]] = llm_scenarios.SCENARIOS
    for name, run in runners.items():
        result = run(folder(work, f"llm_{name}"))
        rows.append(Row(f"llm_{name}", result.survived,
                        note=f"{result.http_requests} HTTP requests, "
                             f"{result.governed_attempts} governed"))
    return rows


def cell(value: object) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        rows = process_faults(work) + journal_safety_faults(work) + bad_input_faults(work)
        rows += bad_print_faults(work) + llm_faults(work)
    header = ("fault", "survived", "rows lost", "dup orders", "naked", "wrong P&L",
              "restart->decision s", "note")
    widths = (30, 8, 9, 10, 5, 9, 19, 0)
    print(" ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip())
    for row in rows:
        values = (row.fault, "yes" if row.survived else "NO", cell(row.rows_lost),
                  cell(row.duplicate_orders), cell(row.naked_positions), cell(row.wrong_pnl),
                  cell(row.restart_to_first_decision_s), row.note)
        print(" ".join(cell(v).ljust(w) for v, w in zip(values, widths, strict=True)).rstrip())
    survived = sum(r.survived for r in rows)
    print(f"\nfaults tried {len(rows)}, survived {survived}; rows lost "
          f"{sum(r.rows_lost or 0 for r in rows)}, duplicate orders "
          f"{sum(r.duplicate_orders or 0 for r in rows)}, naked positions "
          f"{sum(r.naked_positions or 0 for r in rows)} (as root: {os.geteuid() == 0})")


if __name__ == "__main__":
    main()

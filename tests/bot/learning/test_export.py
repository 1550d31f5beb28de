"""The training export: audit outcomes equal the trades table; every training line passes the
Bedrock format validator; the validator refuses bad shapes."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bot.learning.export_cli import export
from bot.learning.finetune_format import file_problems, line_problems, record_problems
from shared.persistence import trade_log_store
from shared.persistence.db import open_database, write_transaction
from tests.bot.learning.journal import day_bars, journal_settings, seed_journal_with_llm

SINCE = datetime(2025, 3, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    folder = tmp_path_factory.mktemp("export")
    db = folder / "trader.db"
    settings = journal_settings()
    calls = seed_journal_with_llm(db, settings, day_bars(12_000))
    conn = open_database(db)
    with write_transaction(conn):
        run_id = trade_log_store.start_export_run(conn, "t1", {}, 1, datetime.now(UTC))
    out, audit = folder / "train.jsonl", folder / "train.audit.jsonl"
    result = export(conn, run_id, settings, SINCE, None, out, audit, None, None)
    yield conn, calls, result, out, audit
    conn.close()


def test_audit_outcomes_equal_the_trades_table(exported):
    conn, _, result, _, audit = exported
    records = [json.loads(line) for line in audit.read_text().splitlines()]
    rows = conn.execute("SELECT * FROM trades ORDER BY exit_ts, id").fetchall()
    assert len(records) == len(rows) == result["trades"] > 0
    for record, row in zip(records, rows, strict=True):
        outcome = record["actual_outcome"]
        assert record["trade_id"] == row["id"] and record["bracket_id"] == row["bracket_id"]
        assert outcome["pnl_net_cents"] == row["pnl_net_cents"]
        assert outcome["pnl_gross_cents"] == row["pnl_gross_cents"]
        assert outcome["exit_price"] == row["exit_price"]
        assert outcome["exit_reason"] == row["exit_reason"]
        assert outcome["side"] == row["side"]
        assert outcome["outcome"] == ("WIN" if row["pnl_net_cents"] > 0 else
                                      "LOSS" if row["pnl_net_cents"] < 0 else "FLAT")
        assert set(record) == {"trade_id", "bracket_id", "input", "llm_prediction",
                               "actual_outcome", "label"}


def test_each_trade_is_joined_to_the_llm_call_in_force_at_entry(exported):
    conn, calls, _, _, audit = exported
    records = {r["bracket_id"]: r for r in map(json.loads, audit.read_text().splitlines())}
    assert calls
    for bracket_id, record in records.items():
        prediction = record["llm_prediction"]
        if bracket_id in calls:
            call = conn.execute("SELECT * FROM llm_calls WHERE id = ?",
                                (calls[bracket_id],)).fetchone()
            assert prediction["call_id"] == call["id"] and prediction["bias"] == call["bias"]
            assert record["input"]["prompt"] == call["prompt"]
            assert record["label"]["correct_prediction"] == (
                record["label"]["market_bias"] == "BULLISH")
        else:
            assert prediction is None and record["label"]["correct_prediction"] is None


def test_every_training_line_passes_the_validator(exported):
    conn, calls, result, out, _ = exported
    lines = out.read_text().splitlines()
    traded = {r["bracket_id"] for r in conn.execute("SELECT bracket_id FROM trades")}
    assert len(lines) == result["training_lines"] == len(set(calls) & traded) > 0
    assert file_problems(out.read_text()) == []
    for line in lines:
        assert line_problems(line) == []
        record = json.loads(line)
        assert list(record) == ["system", "messages"]
        user, assistant = record["messages"]
        answer = json.loads(assistant["content"])
        assert set(answer) == {"bias", "confidence", "action", "rationale", "key_factors",
                               "risk_notes"}
        assert "<data>" in user["content"]


GOOD = {"system": "s", "messages": [{"role": "user", "content": "q"},
                                    {"role": "assistant", "content": "a"}]}


@pytest.mark.parametrize(("record", "needle"), [
    ({**GOOD, "label": 1}, "unexpected key(s): label"),
    ({"system": "s", "messages": [{"role": "assistant", "content": "a"},
                                  {"role": "user", "content": "q"}]}, "expected 'user'"),
    ({"messages": [{"role": "user", "content": "q"}]}, "last message must be the assistant"),
    ({"messages": [{"role": "user", "content": "q"}, {"role": "user", "content": "r"}]},
     "expected 'assistant'"),
    ({"messages": [{"role": "user", "content": "  "},
                   {"role": "assistant", "content": "a"}]}, "content: must be a non-empty"),
    ({"messages": [{"role": "user", "content": "q", "name": "x"},
                   {"role": "assistant", "content": "a"}]}, "unexpected key(s): name"),
    ({"messages": []}, "non-empty list"),
    ({"system": "", **{k: v for k, v in GOOD.items() if k != "system"}}, "system"),
    ([GOOD], "not a JSON object"),
])
def test_the_validator_rejects_bad_shapes(record, needle):
    problems = record_problems(record)
    assert any(needle in p for p in problems), problems


def test_the_validator_accepts_good_lines_and_names_line_numbers():
    assert record_problems(GOOD) == []
    assert record_problems({"messages": GOOD["messages"]}) == []
    text = json.dumps(GOOD) + "\n" + "{not json\n"
    assert file_problems(text) == ["line 2: not JSON: Expecting property name enclosed in "
                                   "double quotes"]

"""The retrain schedule (``python -m bot finetune schedule``, also run nightly) on a journal of
labelled LLM calls, against moto (S3 and Bedrock's control plane) on loopback.

Without ``auto_start`` it prepares the training and held-out files and journals "retrain ready"
with their folder, starting nothing; the next night nothing new is due. With ``auto_start`` and
an estimate within ``retrain_max_usd`` it uploads the files and starts the job through
``finetune start``'s code path; above the cap it starts nothing and says why.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from moto.bedrock.models import bedrock_backends

from bot.learning.finetune_format import file_problems
from shared.persistence import finetune_store, ops_store
from shared.persistence.db import connect
from tests.bot.learning.journal import multi_day_bars, multi_day_settings, seed_journal_with_llm
from tests.integration import test_finetune as fixtures
from tests.integration.botproc import write_config
from tests.integration.test_finetune import (
    ACCOUNT,
    BASE,
    REGION,
    ROLE,
    finetune,
    make_bucket,
    objects,
)

pytestmark = pytest.mark.integration
moto_url = fixtures.moto_url  # one moto server for the module, as test_finetune starts it
aws = fixtures.aws


@pytest.fixture(scope="module")
def seeded(tmp_path_factory) -> Path:
    """Four trading days of 1-minute bars with an LLM call at every entry (~125 labelled)."""
    db = tmp_path_factory.mktemp("seed") / "trader.db"
    seed_journal_with_llm(db, multi_day_settings(), multi_day_bars(days=4), every=1)
    return db


def journal(tmp_path: Path, seeded: Path) -> Path:
    db = tmp_path / "trader.db"
    shutil.copy(seeded, db)
    return db


def config(tmp_path: Path, moto_url: str, **finetune_values) -> Path:
    return write_config(tmp_path, "c.yaml", {
        "feed": {"bar_seconds": 60},
        "finetune": {"min_examples": 10, "min_validation_examples": 5,
                     "endpoint_url": moto_url, "retrain_after_examples": 50,
                     **finetune_values},
        "learning": {"s3_endpoint_url": moto_url}})


def retrain_events(db: Path) -> list[ops_store.EventRow]:
    conn = connect(db, readonly=True)
    try:
        return [e for e in ops_store.recent_events(conn) if e.kind.startswith("retrain")]
    finally:
        conn.close()


def test_without_auto_start_the_files_are_prepared_and_announced(tmp_path, seeded, moto_url,
                                                                   aws):
    db = journal(tmp_path, seeded)
    cfg = config(tmp_path, moto_url, retrain_folder=str(tmp_path / "retrain"))
    done = finetune(db, cfg, "schedule")
    assert done.returncode == 0, done.stderr
    [event] = retrain_events(db)
    detail = json.loads(event.detail_json)
    assert event.kind == "retrain_ready"
    assert event.message.startswith(f"retrain ready: files at {detail['folder']}")
    assert "not started: finetune.auto_start is off" in event.message
    train, held = Path(detail["train"]), Path(detail["validation"])
    assert train.parent == held.parent == Path(detail["folder"])
    assert Path(detail["folder"]).parent == tmp_path / "retrain"
    lines = train.read_text().splitlines() + held.read_text().splitlines()
    assert detail["train_examples"] + detail["validation_examples"] == len(lines) >= 50
    assert file_problems(train.read_text()) == [] and file_problems(held.read_text()) == []
    conn = connect(db, readonly=True)
    assert finetune_store.jobs(conn) == []
    conn.close()
    # the next night: nothing labelled since the files were prepared, nothing done
    again = finetune(db, cfg, "schedule")
    assert again.returncode == 0 and len(retrain_events(db)) == 1


def test_auto_start_within_the_cap_starts_the_job_and_above_it_does_not(tmp_path, seeded,
                                                                         moto_url, aws):
    make_bucket(moto_url, "ft-retrain")
    settings = {"auto_start": True, "retrain_base_model": BASE, "retrain_role_arn": ROLE,
                "retrain_s3_uri": "s3://ft-retrain/auto"}
    (tmp_path / "capped").mkdir()
    capped = journal(tmp_path / "capped", seeded)
    refused = finetune(capped, config(tmp_path / "capped", moto_url, retrain_max_usd=0.0,
                                      **settings), "schedule")
    assert refused.returncode == 0, refused.stderr
    [event] = retrain_events(capped)
    assert event.kind == "retrain_ready" and "above finetune.retrain_max_usd ($0.00)" in (
        event.message)
    assert objects(moto_url, "ft-retrain") == []

    db = journal(tmp_path, seeded)
    done = finetune(db, config(tmp_path, moto_url, retrain_max_usd=5.0, **settings), "schedule")
    assert done.returncode == 0, done.stderr
    [event] = retrain_events(db)
    detail = json.loads(event.detail_json)
    name = detail["job"]
    assert event.kind == "retrain_started" and event.message.startswith(
        f"retrain job {name} started: files at {detail['folder']}")
    assert sorted(objects(moto_url, "ft-retrain")) == [
        f"auto/{name}/train.jsonl", f"auto/{name}/validation.jsonl"]
    sent = bedrock_backends[ACCOUNT][REGION].model_customization_jobs[name]
    assert (sent.role_arn, sent.base_model_identifier) == (ROLE, BASE)
    conn = connect(db, readonly=True)
    job = finetune_store.job(conn, name)
    assert job.status == "InProgress" and 0 < job.estimate_usd <= 5.0
    assert (job.train_examples, job.validation_examples) == (
        detail["train_examples"], detail["validation_examples"])
    conn.close()

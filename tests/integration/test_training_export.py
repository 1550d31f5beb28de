"""``python -m bot export-training --s3`` against a local S3 (moto's server mode on loopback):
the files reach the bucket byte for byte, each PUT is governed in ``cloud_calls``, and bad
input exits 2 with one line."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from bot.learning.finetune_format import file_problems
from shared.persistence import trade_log_store
from shared.persistence.db import connect
from tests.bot.learning.journal import day_bars, journal_settings, seed_journal_with_llm
from tests.integration.botproc import REPO_ROOT, wait_for
from tests.integration.test_supervisor import free_port

AWS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
       "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": "/nonexistent",
       "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent", "AWS_DEFAULT_REGION": "us-east-1"}


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory) -> Iterator[str]:
    """moto's S3 server as a subprocess on a free loopback port."""
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with log.open("w") as out:
        server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1",
                                   "-p", str(port)], stdout=out, stderr=subprocess.STDOUT,
                                  env={**os.environ, **AWS})
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            urllib.request.urlopen(url + "/moto-api/", timeout=1)
            return True
        except OSError:
            return False

    try:
        wait_for(up, 30, "the moto S3 server", server, log)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


def _client(url: str):
    return boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                 region_name="us-east-1").client("s3", endpoint_url=url)


def _run(args: list[str], db: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", "export-training", "--db", str(db),
                           *args], cwd=REPO_ROOT, env={**os.environ, **AWS},
                          capture_output=True, text=True, timeout=120)


def test_the_export_uploads_both_files_to_the_local_s3(s3_server, tmp_path):
    db = tmp_path / "trader.db"
    seed_journal_with_llm(db, journal_settings(), day_bars(8000))
    _client(s3_server).create_bucket(Bucket="training")
    out = tmp_path / "out" / "mes.jsonl"
    done = _run(["--since", "2025-03-01", "--out", str(out), "--s3", "s3://training/runs/1",
                 "--endpoint-url", s3_server, "--token", "abc"], db)
    assert done.returncode == 0, done.stderr
    listed = _client(s3_server).list_objects_v2(Bucket="training", Prefix="runs/1/")
    keys = sorted(o["Key"] for o in listed.get("Contents", []))
    assert keys == ["runs/1/mes.audit.jsonl", "runs/1/mes.jsonl"]
    body = _client(s3_server).get_object(Bucket="training", Key="runs/1/mes.jsonl")["Body"]
    text = body.read().decode()
    assert text == out.read_text() and text and file_problems(text) == []
    conn = connect(db, readonly=True)
    try:
        calls = trade_log_store.cloud_calls(conn)
        runs = trade_log_store.export_runs(conn)
    finally:
        conn.close()
    assert [(c["service"], c["operation"], c["status"]) for c in calls] == [
        ("s3", "PutObject", "ok")] * 2
    assert runs[0].token == "abc" and runs[0].status == "done" and runs[0].progress == 1
    assert runs[0].result["s3"] == ["s3://training/runs/1/mes.jsonl",
                                    "s3://training/runs/1/mes.audit.jsonl"]


def test_a_missing_bucket_fails_the_run_and_says_why(s3_server, tmp_path):
    db = tmp_path / "trader.db"
    seed_journal_with_llm(db, journal_settings(), day_bars(3000))
    failed = _run(["--since", "2025-03-01", "--out", str(tmp_path / "x.jsonl"), "--s3",
                   "s3://no-such-bucket/p", "--endpoint-url", s3_server], db)
    assert failed.returncode == 1 and "NoSuchBucket" in failed.stderr
    conn = connect(db, readonly=True)
    try:
        run = trade_log_store.export_runs(conn)[0]
        calls = trade_log_store.cloud_calls(conn)
    finally:
        conn.close()
    assert run.status == "failed" and "NoSuchBucket" in run.message
    assert [c["status"] for c in calls] == ["error"]


def test_bad_input_exits_2_with_one_line(tmp_path):
    bad = _run(["--since", "yesterday", "--out", str(tmp_path / "x.jsonl")], tmp_path / "t.db")
    assert bad.returncode == 2 and bad.stderr.strip().endswith(
        "--since 'yesterday': not a date (YYYY-MM-DD)")
    bad = _run(["--since", "2025-03-01", "--out", str(tmp_path / "x.jsonl"), "--s3",
                "bucket/x"], tmp_path / "t.db")
    assert bad.returncode == 2 and "expected s3://bucket/prefix" in bad.stderr

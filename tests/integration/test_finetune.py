"""``python -m bot finetune`` against local stand-ins: moto (S3 and Bedrock's control plane) and
the fake Bedrock runtime, all on loopback, through the real boto3 clients.

start: the files are checked, uploaded (governed), and the job started with the API's required
fields; below the minimum examples nothing is uploaded or started. status: the job's state is
read (moto finishes it when the test says so, as AWS would). evaluate: the base and the custom
model answer every held-out example; a custom model better calibrated than its base is
approved, a worse one is not, and only an approved one answers a route in the live worker.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

import boto3
import botocore.session
import pytest
from moto.bedrock.models import bedrock_backends
from moto.server import ThreadedMotoServer

from bot.__main__ import main
from bot.llm.routing import ProviderRouter
from bot.llm.types import TriggerKind
from shared.config.settings import Settings
from shared.persistence import finetune_store, llm_store
from shared.persistence.db import connect
from tests.fakellm.server import FakeLlmServer, Step
from tests.integration.botproc import write_config

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
ACCOUNT = "123456789012"
BASE = "anthropic.claude-3-haiku-20240307-v1:0"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/bedrock-finetune"
AWS_ENV = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
           "AWS_DEFAULT_REGION": REGION, "AWS_EC2_METADATA_DISABLED": "true",
           "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent"}
BIASES = ("BULLISH", "BEARISH", "NEUTRAL")


def example(index: int, bias: str, day: str) -> dict:
    prompt = f"Market snapshot (JSON):\n{{\"n\": {index}, \"day\": \"{day}\"}}\nYour bias?"
    answer = {"bias": bias, "confidence": 0.55, "action": {"BULLISH": "BUY", "BEARISH": "SELL",
              "NEUTRAL": "HOLD"}[bias], "rationale": "", "key_factors": [], "risk_notes": ""}
    return {"system": "You are a careful futures analyst.", "messages": [
        {"role": "user", "content": prompt},
        {"role": "assistant", "content": json.dumps(answer, sort_keys=True)}]}


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def moto_url():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def aws(monkeypatch):
    for name, value in AWS_ENV.items():
        monkeypatch.setenv(name, value)


@dataclass(frozen=True)
class Ran:
    returncode: int
    stderr: str


def finetune(db: Path, config: Path, *args: str, process: bool = False) -> Ran:
    """``python -m bot finetune ...``: in this process (moto's backend is in-process too), or
    as its own process with ``process``."""
    argv = ["finetune", *args, "--db", str(db), "--config", str(config)]
    if process:
        env = {**os.environ, **AWS_ENV, "PYTHONPATH": str(ROOT)}
        done = subprocess.run([sys.executable, "-m", "bot", *argv], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)
        return Ran(done.returncode, done.stderr)
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(argv)
    return Ran(code, err.getvalue())


def objects(moto_url: str, bucket: str) -> list[str]:
    s3 = boto3.session.Session(region_name=REGION).client("s3", endpoint_url=moto_url)
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]


def make_bucket(moto_url: str, bucket: str) -> None:
    boto3.session.Session(region_name=REGION).client(
        "s3", endpoint_url=moto_url).create_bucket(Bucket=bucket)


def test_start_uploads_and_starts_a_job_with_the_apis_required_fields(tmp_path, moto_url, aws):
    make_bucket(moto_url, "ft-start")
    train = write_jsonl(tmp_path / "t.jsonl", [example(i, BIASES[i % 3], "d1")
                                               for i in range(12)])
    held = write_jsonl(tmp_path / "t.heldout.jsonl", [example(100 + i, BIASES[i % 3], "d2")
                                                      for i in range(6)])
    config = write_config(tmp_path, "c.yaml", {
        "finetune": {"min_examples": 10, "min_validation_examples": 5, "epochs": 3,
                     "endpoint_url": moto_url},
        "learning": {"s3_endpoint_url": moto_url}})
    db = tmp_path / "j.db"
    args = ("--train", str(train), "--validation", str(held), "--base-model", BASE,
            "--role-arn", ROLE, "--s3", "s3://ft-start/jobs", "--job-name", "ft-one")
    refused = finetune(db, config, "start", *args)
    assert refused.returncode == 2 and "add --yes-spend" in refused.stderr
    done = finetune(db, config, "start", *args, "--yes-spend", process=True)
    assert done.returncode == 0, done.stderr
    assert sorted(objects(moto_url, "ft-start")) == [
        "jobs/ft-one/train.jsonl", "jobs/ft-one/validation.jsonl"]
    sent = bedrock_backends[ACCOUNT][REGION].model_customization_jobs["ft-one"]
    assert (sent.role_arn, sent.base_model_identifier, sent.customization_type) == (
        ROLE, BASE, "FINE_TUNING")
    assert sent.training_data_config == {"s3Uri": "s3://ft-start/jobs/ft-one/train.jsonl"}
    assert sent.validation_data_config == {
        "validators": [{"s3Uri": "s3://ft-start/jobs/ft-one/validation.jsonl"}]}
    assert sent.hyper_parameters == {"epochCount": "3"}
    required = botocore.session.get_session().get_service_model("bedrock").operation_model(
        "CreateModelCustomizationJob").input_shape.required_members
    assert {"jobName", "customModelName", "roleArn", "baseModelIdentifier",
            "trainingDataConfig", "outputDataConfig"} <= set(required)
    conn = connect(db, readonly=True)
    job = finetune_store.job(conn, "ft-one")
    assert (job.status, job.train_examples, job.validation_examples) == ("InProgress", 12, 6)
    assert job.job_arn.endswith("model-customization-job/ft-one") and job.estimate_usd > 0

    bedrock_backends[ACCOUNT][REGION].model_customization_jobs["ft-one"].status = "Completed"
    assert finetune(db, config, "status").returncode == 0
    job = finetune_store.job(conn, "ft-one")
    assert job.status == "Completed" and ":custom-model/" in job.custom_model_arn


def test_a_job_below_the_minimum_is_refused_before_anything_is_sent(tmp_path, moto_url, aws):
    make_bucket(moto_url, "ft-small")
    train = write_jsonl(tmp_path / "t.jsonl", [example(i, "BULLISH", "d1") for i in range(4)])
    held = write_jsonl(tmp_path / "h.jsonl", [example(i, "BULLISH", "d1") for i in range(2)])
    config = write_config(tmp_path, "c.yaml", {
        "finetune": {"min_examples": 10, "min_validation_examples": 5,
                     "endpoint_url": moto_url},
        "learning": {"s3_endpoint_url": moto_url}})
    db = tmp_path / "j.db"
    done = finetune(db, config, "start", "--train", str(train), "--validation", str(held),
                    "--base-model", BASE, "--role-arn", ROLE, "--s3", "s3://ft-small/x",
                    "--job-name", "ft-small", "--yes-spend")
    assert done.returncode == 2
    assert "4 example(s), fewer than finetune.min_examples (10)" in done.stderr
    assert "prompt(s) are in both files" in done.stderr
    assert objects(moto_url, "ft-small") == []
    assert "ft-small" not in bedrock_backends[ACCOUNT][REGION].model_customization_jobs
    conn = connect(db, readonly=True)
    assert finetune_store.jobs(conn) == []


def answering(labels: dict[str, str], custom_marker: str, custom_right: float,
              custom_confidence: float, seed: int) -> object:
    """A fake runtime: the custom model is right ``custom_right`` of the time at
    ``custom_confidence``; the base model guesses at random with confidence 0.9."""
    rng = random.Random(seed)

    def respond(record: dict) -> Step:
        prompt = record["body"]["messages"][0]["content"][0]["text"]
        label = labels[prompt]
        if custom_marker in unquote(record["path"]):
            right = rng.random() < custom_right
            bias = label if right else next(b for b in BIASES if b != label)
            confidence = custom_confidence
        else:
            bias, confidence = rng.choice(BIASES), 0.9
        action = {"BULLISH": "BUY", "BEARISH": "SELL", "NEUTRAL": "HOLD"}[bias]
        return Step(payload={"bias": bias, "confidence": confidence, "action": action,
                             "rationale": "", "key_factors": [], "risk_notes": ""})
    return respond


def start_finished_job(tmp_path, moto_url, name: str, fake_url: str) -> tuple[Path, Path, Path]:
    make_bucket(moto_url, name)
    train = write_jsonl(tmp_path / "t.jsonl", [example(i, BIASES[i % 3], "d1")
                                               for i in range(12)])
    held = write_jsonl(tmp_path / "h.jsonl", [example(500 + i, BIASES[(i * 7) % 3], "d2")
                                              for i in range(40)])
    config = write_config(tmp_path, "c.yaml", {
        "finetune": {"min_examples": 10, "min_validation_examples": 20,
                     "endpoint_url": moto_url},
        "learning": {"s3_endpoint_url": moto_url},
        "llm": {"enabled": True, "provider": "bedrock", "bedrock_endpoint_url": fake_url,
                "bedrock_model": BASE, "max_attempts": 1, "timeout_s": 5}})
    db = tmp_path / "j.db"
    started = finetune(db, config, "start", "--train", str(train), "--validation", str(held),
                       "--base-model", BASE, "--role-arn", ROLE, "--s3", f"s3://{name}/p",
                       "--job-name", name, "--yes-spend")
    assert started.returncode == 0, started.stderr
    bedrock_backends[ACCOUNT][REGION].model_customization_jobs[name].status = "Completed"
    assert finetune(db, config, "status").returncode == 0
    return db, config, held


def labels_of(held: Path) -> dict[str, str]:
    found = {}
    for line in held.read_text().splitlines():
        record = json.loads(line)
        found[record["messages"][0]["content"]] = json.loads(
            record["messages"][1]["content"])["bias"]
    return found


@pytest.mark.parametrize(("custom_right", "custom_confidence", "approved"), [
    (0.85, 0.7, True),  # Brier ~0.12 against the random base's ~0.54
    (0.15, 0.95, False),  # wrong and sure: Brier ~0.77
])
def test_evaluate_approves_only_a_better_calibrated_custom_model(
        tmp_path, moto_url, aws, custom_right, custom_confidence, approved):
    name = f"ft-eval-{int(custom_right * 100)}"
    with FakeLlmServer() as fake:
        db, config, held = start_finished_job(tmp_path, moto_url, name, fake.url)
        fake.responder = answering(labels_of(held), f":custom-model/{name}-model", custom_right,
                                   custom_confidence, seed=7)
        refused = finetune(db, config, "evaluate", "--job", name, "--held-out", str(held))
        assert refused.returncode == 2 and "--yes-spend" in refused.stderr
        done = finetune(db, config, "evaluate", "--job", name, "--held-out", str(held),
                        "--yes-spend")
        sent = [unquote(r["path"]) for r in fake.requests if r["method"] == "POST"]
    assert done.returncode == (0 if approved else 1), done.stderr
    conn = connect(db, readonly=True)
    job = finetune_store.job(conn, name)
    figures = json.loads(job.evaluation_json)
    assert job.approved is approved and figures["approved"] is approved
    assert figures["base"]["calls"] == figures["custom"]["calls"] == 40
    assert (figures["custom"]["brier"] <= figures["base"]["brier"]) is approved
    calls = llm_store.recent_calls(conn, 1000)
    assert len(calls) == len(sent) == 80  # every HTTP attempt governed and logged
    assert {c.trigger for c in calls} == {TriggerKind.EVALUATION.value}

    class Named:
        name = "fake"

        def __init__(self, cfg) -> None:
            self.model = cfg.bedrock_model

    llm = Settings.model_validate({"llm": {"bedrock_model": BASE, "routes": [
        {"name": "tuned", "model": job.custom_model_arn}]}}).llm
    choice, provider = ProviderRouter(Named).route(
        llm, "normal", "news", lambda model: finetune_store.approved_custom_model(conn, model))
    assert (choice.name, provider.model) == (
        ("tuned", job.custom_model_arn) if approved else ("default", BASE))

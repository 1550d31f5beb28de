"""Upload export files to S3 with boto3: one governed, un-retried PUT per attempt.

Like the LLM calls (DESIGN §4 rule 8), every HTTP attempt is reserved in the ``cloud_calls``
ledger first (a daily attempt limit, checked atomically in SQLite) and settled after; botocore
makes exactly one request per ``put_object`` (``total_max_attempts=1``). Credentials come only
from boto3's environment chain; ``endpoint_url`` points at a local S3 (moto) in tests.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from bot.llm.aws_session import new_session
from shared.domain.errors import ConfigError
from shared.persistence import trade_log_store
from shared.persistence.db import write_transaction

logger = logging.getLogger(__name__)

SERVICE = "s3"


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/prefix`` -> (bucket, prefix without slashes at the ends)."""
    if not uri.startswith("s3://"):
        raise ConfigError(f"--s3 {uri!r}: expected s3://bucket/prefix")
    bucket, _, prefix = uri[5:].partition("/")
    if not bucket or any(c in bucket for c in " \\"):
        raise ConfigError(f"--s3 {uri!r}: no bucket name")
    return bucket, prefix.strip("/")


@dataclass(frozen=True, slots=True)
class Uploaded:
    """Where a file went."""

    path: str
    uri: str
    size_bytes: int


class S3Uploader:
    """A boto3 S3 client that never retries behind the ledger's back."""

    def __init__(self, region: str, endpoint_url: str = "", timeout_s: float = 30.0) -> None:
        config = Config(connect_timeout=min(timeout_s, 10.0), read_timeout=timeout_s,
                        retries={"mode": "standard", "total_max_attempts": 1},
                        s3={"addressing_style": "path"} if endpoint_url else None)
        self._client = new_session(region).client(
            "s3", region_name=region, endpoint_url=endpoint_url or None, config=config)

    def put(self, bucket: str, key: str, body: bytes) -> str:
        """One PUT; the error text, or "" when stored."""
        try:
            self._client.put_object(Bucket=bucket, Key=key, Body=body,
                                    ContentType="application/jsonl")
        except ClientError as exc:
            error = exc.response.get("Error", {})
            return f"{error.get('Code', 'ClientError')}: {error.get('Message', '')}"
        except BotoCoreError as exc:
            return f"{type(exc).__name__}: {exc}"
        return ""


def upload_files(
    conn: sqlite3.Connection, paths: list[Path], uri: str, uploader: S3Uploader,
    daily_limit: int, wall_clock: Callable[[], datetime],
) -> list[Uploaded]:
    """Upload each file under the URI's prefix; RuntimeError names the first that failed."""
    bucket, prefix = parse_s3_uri(uri)
    done = []
    for path in paths:
        body = path.read_bytes()
        key = f"{prefix}/{path.name}" if prefix else path.name
        target = f"s3://{bucket}/{key}"
        with write_transaction(conn):
            reservation = trade_log_store.reserve_cloud_call(
                conn, SERVICE, "PutObject", target, len(body), daily_limit, wall_clock())
        if not reservation.granted:
            raise RuntimeError(f"upload of {path.name} refused: {reservation.reason}")
        started = time.perf_counter()
        error = uploader.put(bucket, key, body)
        latency_ms = (time.perf_counter() - started) * 1000
        with write_transaction(conn):
            trade_log_store.settle_cloud_call(conn, reservation.call_id, "error" if error else "ok",
                                              error, latency_ms, wall_clock())
        if error:
            raise RuntimeError(f"upload of {path.name} to {target} failed: {error}")
        logger.info("uploaded %s to %s (%d bytes)", path, target, len(body))
        done.append(Uploaded(str(path), target, len(body)))
    return done

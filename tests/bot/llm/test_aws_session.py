"""AWS sessions share botocore's data loader but nothing else (region, credentials)."""

from __future__ import annotations

import pytest

from bot.llm.aws_session import new_session

pytestmark = pytest.mark.unit


def test_sessions_share_one_loader_whose_search_path_does_not_grow():
    first, second = new_session("us-east-1"), new_session("eu-west-1")
    loader = first._session.get_component("data_loader")
    paths = list(loader.search_paths)
    third = new_session("us-west-2")
    assert second._session.get_component("data_loader") is loader
    assert third._session.get_component("data_loader") is loader
    assert loader.search_paths == paths and len(set(paths)) == len(paths)
    assert [s.region_name for s in (first, second, third)] == [
        "us-east-1", "eu-west-1", "us-west-2"]
    assert first._session is not second._session  # credentials resolve per session


def test_each_session_reads_the_credentials_of_its_time(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "first-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "first-secret")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
    assert new_session("us-east-1").get_credentials().access_key == "first-key"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "second-key")
    assert new_session("us-east-1").get_credentials().access_key == "second-key"

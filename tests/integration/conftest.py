"""Fixtures shared by the integration tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakeib.control import FakeGatewayThread


@pytest.fixture
def fake() -> Iterator[FakeGatewayThread]:
    """A fake TWS gateway on a loopback port, closed after the test."""
    gateway = FakeGatewayThread().start()
    yield gateway
    gateway.close()

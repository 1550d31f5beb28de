"""Domain types: the hand-written copy of an order equals the generic one."""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import UTC, datetime

import pytest

from shared.domain.models import ExitReason, Order, OrderRole, OrderStatus, OrderType, Side


@pytest.mark.parametrize("status", list(OrderStatus))
def test_with_status_copies_every_field_but_the_status(status):
    order = Order("MES-1-stop", "MES-1", "MES", Side.SHORT, OrderRole.STOP, OrderType.STOP, 3,
                  5001.25, OrderStatus.WORKING, datetime(2025, 3, 3, 15, tzinfo=UTC),
                  ExitReason.TRAILING_STOP)
    copy = order.with_status(status)
    assert copy == replace(order, status=status)
    assert all(getattr(copy, f.name) == getattr(order, f.name)
               for f in fields(Order) if f.name != "status")

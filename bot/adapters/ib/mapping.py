"""Translation tables between IB's vocabulary and ours: order statuses, error codes, order refs.

Pure data and small pure functions, no ib_async objects, so every rule is unit-testable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from shared.domain.models import OrderRole, OrderStatus, Side


class IbAction(StrEnum):
    """What the connection manager does when IB reports an error code."""

    PAUSE = "pause"  # IB lost its servers: no new entries until restored
    RESTORED = "restored"  # connectivity back, data kept: reconcile
    RESTORED_DATA_LOST = "restored_data_lost"  # connectivity back, data lost: resubscribe too
    FARM_BROKEN = "farm_broken"  # a data farm is down: watch the feed
    FARM_OK = "farm_ok"  # a farm is (back) up: resubscribe if it was broken
    NO_DATA = "no_data"  # market data refused (competing session, no subscription)
    PACING = "pacing"  # historical pacing violation: back off
    CLIENT_ID_IN_USE = "client_id_in_use"
    ORDER = "order"  # about one order: the broker reads it from the trade's log
    INFO = "info"


@dataclass(frozen=True, slots=True)
class ErrorRule:
    """How one IB error code is journaled and acted on."""

    action: IbAction
    kind: str
    severity: str


ERROR_RULES: dict[int, ErrorRule] = {
    1100: ErrorRule(IbAction.PAUSE, "ib_connectivity_lost", "incident"),
    2110: ErrorRule(IbAction.PAUSE, "ib_connectivity_lost", "incident"),
    1101: ErrorRule(IbAction.RESTORED_DATA_LOST, "ib_connectivity_restored", "warning"),
    1102: ErrorRule(IbAction.RESTORED, "ib_connectivity_restored", "info"),
    2103: ErrorRule(IbAction.FARM_BROKEN, "ib_data_farm", "warning"),
    2105: ErrorRule(IbAction.FARM_BROKEN, "ib_data_farm", "warning"),
    2157: ErrorRule(IbAction.FARM_BROKEN, "ib_data_farm", "warning"),
    2104: ErrorRule(IbAction.FARM_OK, "ib_data_farm", "info"),
    2106: ErrorRule(IbAction.FARM_OK, "ib_data_farm", "info"),
    2158: ErrorRule(IbAction.FARM_OK, "ib_data_farm", "info"),
    10197: ErrorRule(IbAction.NO_DATA, "ib_no_market_data", "incident"),
    354: ErrorRule(IbAction.NO_DATA, "ib_no_market_data", "incident"),
    10089: ErrorRule(IbAction.NO_DATA, "ib_no_market_data", "incident"),
    162: ErrorRule(IbAction.PACING, "ib_history_error", "warning"),
    326: ErrorRule(IbAction.CLIENT_ID_IN_USE, "ib_client_id_in_use", "incident"),
    200: ErrorRule(IbAction.ORDER, "ib_no_contract", "incident"),
    201: ErrorRule(IbAction.ORDER, "order_rejected", "incident"),
    202: ErrorRule(IbAction.ORDER, "order_cancelled", "info"),
    103: ErrorRule(IbAction.ORDER, "order_rejected", "incident"),
    110: ErrorRule(IbAction.ORDER, "order_rejected", "incident"),
    478: ErrorRule(IbAction.ORDER, "order_rejected", "incident"),
    321: ErrorRule(IbAction.ORDER, "ib_request_invalid", "warning"),
    10147: ErrorRule(IbAction.ORDER, "order_cancel_failed", "warning"),
    10148: ErrorRule(IbAction.ORDER, "order_cancel_failed", "warning"),
}

# Error codes on an order that mean IB refused it (rather than cancelled it on request).
REJECTION_CODES = frozenset({103, 110, 200, 201, 321, 478})

# IB order status -> ours. Cancelled/Inactive orders with a rejection code in their log become
# REJECTED (see ``order_status``); Filled is reported through executions, not through status.
IB_STATUS: dict[str, OrderStatus] = {
    "PendingSubmit": OrderStatus.WORKING,
    "ApiPending": OrderStatus.WORKING,
    "PreSubmitted": OrderStatus.WORKING,
    "Submitted": OrderStatus.WORKING,
    "PendingCancel": OrderStatus.WORKING,
    "ValidationError": OrderStatus.WORKING,
    "Filled": OrderStatus.FILLED,
    "ApiCancelled": OrderStatus.CANCELLED,
    "Cancelled": OrderStatus.CANCELLED,
    "Inactive": OrderStatus.REJECTED,
}

EXEC_SIDE: dict[str, Side] = {"BOT": Side.LONG, "SLD": Side.SHORT}
ORDER_ACTION: dict[Side, str] = {Side.LONG: "BUY", Side.SHORT: "SELL"}

# History bar sizes IB accepts, by our bar length in seconds.
BAR_SIZE_SETTING: dict[int, str] = {
    5: "5 secs", 10: "10 secs", 15: "15 secs", 30: "30 secs", 60: "1 min", 120: "2 mins",
    180: "3 mins", 300: "5 mins", 900: "15 mins", 1800: "30 mins", 3600: "1 hour",
}

_REF = re.compile(r"^(?P<bracket>.+)-(?P<role>entry|stop|target|exit)(?P<n>\d*)$")


@dataclass(frozen=True, slots=True)
class ParsedRef:
    """Our order id, read back from IB's orderRef."""

    bracket_id: str
    role: OrderRole


def parse_order_ref(order_ref: str, symbol: str) -> ParsedRef | None:
    """Our bracket id and role from an orderRef, or None when the bot did not place it."""
    match = _REF.match(order_ref or "")
    if match is None or not match["bracket"].startswith(f"{symbol}-"):
        return None
    return ParsedRef(match["bracket"], OrderRole(match["role"]))


def order_status(ib_status: str, error_codes: list[int]) -> OrderStatus:
    """Our status for an IB status and the error codes logged on the order."""
    status = IB_STATUS.get(ib_status, OrderStatus.WORKING)
    if status is OrderStatus.CANCELLED and REJECTION_CODES.intersection(error_codes):
        return OrderStatus.REJECTED
    return status


def is_paper_account(account: str) -> bool:
    """IB paper-trading accounts start with D (DU..., DF...)."""
    return account.upper().startswith("D")

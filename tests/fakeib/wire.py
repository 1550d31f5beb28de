"""TWS wire format at server version 178: framing, field encoding and server message builders.

Every builder returns the text fields of one message (message id first); ``frame`` turns them
into bytes. Layouts follow ../shared/reference/ib-protocol.md and are checked by connecting the
real ib_async client in the tests.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

SERVER_VERSION = 178
MIN_CLIENT_VERSION = 157
JAVA_UNSET_DOUBLE = "1.7976931348623157E308"
MAX_MESSAGE_BYTES = 0xFFFFFF

Fields = list[str]


def fmt(value: object) -> str:
    """Render one field the way TWS does (bools as 1/0, None as empty)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def frame(fields: Sequence[object]) -> bytes:
    """Length-prefix one message of NUL-terminated fields."""
    payload = "".join(f"{fmt(f)}\0" for f in fields).encode("ascii", "backslashreplace")
    return struct.pack(">I", len(payload)) + payload


def split_frames(buffer: bytearray) -> list[list[str]]:
    """Cut every complete message off the front of ``buffer`` and return their fields."""
    messages = []
    while len(buffer) >= 4:
        size = struct.unpack(">I", bytes(buffer[:4]))[0]
        if size > MAX_MESSAGE_BYTES:
            raise ValueError(f"message of {size} bytes is larger than the protocol allows")
        if len(buffer) < 4 + size:
            break
        text = bytes(buffer[4 : 4 + size]).decode("ascii", errors="backslashreplace")
        del buffer[: 4 + size]
        fields = text.split("\0")
        if fields and fields[-1] == "":
            fields.pop()
        messages.append(fields)
    return messages


def num(text: str, default: float = 0.0) -> float:
    """Parse a client number leniently (empty = default, '1' or '1.0')."""
    return float(text) if text not in ("", None) else default


def ib_time(ts: datetime) -> str:
    """Render a time as TWS does in execDetails and bars: 'YYYYMMDD HH:MM:SS UTC'."""
    return ts.astimezone(UTC).strftime("%Y%m%d %H:%M:%S") + " UTC"


@dataclass(frozen=True, slots=True)
class ListedFuture:
    """One listed futures contract as the fake knows it."""

    con_id: int
    symbol: str
    local_symbol: str
    contract_month: str  # YYYYMM
    last_trade_date: str  # YYYYMMDD
    multiplier: int
    long_name: str

    def contract_fields(self, sec_type: str = "FUT") -> list[object]:
        """The 11 contract fields of openOrder/execDetails (no primaryExchange)."""
        return [self.con_id, self.symbol, sec_type, self.last_trade_date, 0, "", self.multiplier,
                "CME", "USD", self.local_symbol, self.symbol]


def handshake_reply(connected_at: datetime) -> Fields:
    return [str(SERVER_VERSION), connected_at.strftime("%Y%m%d %H:%M:%S") + " UTC"]


def error(req_id: int, code: int, message: str) -> list[object]:
    return [4, 2, req_id, code, message, ""]


def contract_details(req_id: int, fut: ListedFuture, sec_type: str = "FUT") -> list[object]:
    hours = "20250303:1700-20250304:1600"
    return [
        10, req_id, fut.symbol, sec_type, f"{fut.last_trade_date} 08:30:00 US/Central", 0, "",
        "CME", "USD", fut.local_symbol, fut.symbol, fut.symbol, fut.con_id, 0.25,
        fut.multiplier, "ACTIVETIM,AD,GTC,LMT,MKT,STP,STPLMT,TRAIL", "CME,QBALGO", 1, 11004968,
        fut.long_name, "", fut.contract_month, "", "", "", "US/Central", hours, hours, "", "",
        0, 2, fut.symbol, "IND", "67,67", fut.last_trade_date, "", 1, 1, 1,
    ]


def historical_data(
    req_id: int, start: datetime, end: datetime, bars: Iterable[tuple], format_date: int
) -> list[object]:
    rows: list[object] = []
    count = 0
    for ts, o, h, low, c, v in bars:
        stamp = str(int(ts.timestamp())) if format_date == 2 else ib_time(ts)
        rows += [stamp, o, h, low, c, v, c, 1]
        count += 1
    return [17, req_id, ib_time(start), ib_time(end), count, *rows]


def realtime_bar(req_id: int, ts: datetime, o: float, h: float, low: float, c: float,
                 volume: float) -> list[object]:
    return [50, 3, req_id, int(ts.timestamp()), o, h, low, c, volume, c, 1]


def open_order_fields(
    order_id: int, contract: Sequence[object], action: str, qty: float, order_type: str,
    lmt: float | None, aux: float | None, tif: str, oca_group: str, account: str,
    order_ref: str, client_id: int, perm_id: int, outside_rth: bool, oca_type: int,
    parent_id: int, status: str,
) -> list[object]:
    """openOrder (msg 5) for a plain order: 127 fields, real TWS's '?' for right."""
    values: list[object] = [""] * 127
    values[0:13] = [5, order_id, *contract]
    values[7] = "?"
    values[13:27] = [action, qty, order_type, lmt if lmt is not None else 0.0,
                     aux if aux is not None else 0.0, tif, oca_group, account, "", 0,
                     order_ref, client_id, perm_id, outside_rth]
    defaults = {27: 0, 28: 0, 39: 0, 41: -1, 42: 0, 48: 0, 49: 0, 50: 0, 51: 0, 53: oca_type,
                54: 0, 55: 0, 57: parent_id, 58: 0, 63: 0, 70: 0, 71: 0, 72: 0, 77: 0, 80: 0,
                81: 0, 83: 0, 84: 0, 85: status, 100: 0, 101: 0, 102: 0, 115: 0, 116: 0,
                118: 0, 121: 0}
    for index, value in defaults.items():
        values[index] = value
    return values


def order_status(order_id: int, status: str, filled: float, remaining: float, avg_price: float,
                 perm_id: int, parent_id: int, last_price: float, client_id: int) -> list[object]:
    return [3, order_id, status, filled, remaining, avg_price, perm_id, parent_id, last_price,
            client_id, "", 0]


def exec_details(
    req_id: int, order_id: int, contract: Sequence[object], exec_id: str, ts: datetime,
    account: str, side: str, shares: float, price: float, perm_id: int, client_id: int,
    cum_qty: float, avg_price: float, order_ref: str,
) -> list[object]:
    return [11, req_id, order_id, *contract, exec_id, ib_time(ts), account, "CME", side, shares,
            price, perm_id, client_id, 0, cum_qty, avg_price, order_ref, "", "", "", 2, 0]


def commission_report(exec_id: str, commission: float, realized_pnl: float | None) -> list[object]:
    pnl = JAVA_UNSET_DOUBLE if realized_pnl is None else realized_pnl
    return [59, 1, exec_id, commission, "USD", pnl, JAVA_UNSET_DOUBLE, ""]


def position(account: str, fut: ListedFuture, qty: float, avg_cost: float) -> list[object]:
    return [61, 3, account, fut.con_id, fut.symbol, "FUT", fut.last_trade_date, 0, "",
            fut.multiplier, "CME", "USD", fut.local_symbol, fut.symbol, qty, avg_cost]


def portfolio_value(account: str, fut: ListedFuture, qty: float, price: float,
                    avg_cost: float) -> list[object]:
    value = qty * price * fut.multiplier
    unrealized = value - qty * avg_cost
    return [7, 8, fut.con_id, fut.symbol, "FUT", fut.last_trade_date, 0, "", fut.multiplier, "",
            "USD", fut.local_symbol, fut.symbol, qty, price, value, avg_cost, unrealized, 0.0,
            account]


def account_values(account: str, net_liquidation: float) -> list[list[object]]:
    keys = {"NetLiquidation": net_liquidation, "AvailableFunds": net_liquidation,
            "BuyingPower": net_liquidation * 4, "TotalCashValue": net_liquidation}
    return [[6, 2, key, f"{value:.2f}", "USD", account] for key, value in keys.items()]

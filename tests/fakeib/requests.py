"""What the fake gateway answers to each client request, keyed by the request's message id.

Contracts resolve by conId alone, or by symbol, secType, exchange and expiry; CONTFUT resolves
to the front month and is refused for orders and real-time data (321), as at IB. Historical
requests repeated identically within the pacing window get error 162.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from tests.fakeib import wire
from tests.fakeib.market import SPECS, TICK, ListedFuture, listed_futures
from tests.fakeib.venue import FakeOrder

if TYPE_CHECKING:
    from tests.fakeib.server import ClientSession, FakeGateway

logger = logging.getLogger(__name__)

PACING_IDENTICAL_S = 15.0
DURATION_UNITS_S = {"S": 1, "D": 86_400, "W": 7 * 86_400}
BAR_SIZES_S = {"5 secs": 5, "10 secs": 10, "15 secs": 15, "30 secs": 30, "1 min": 60,
               "2 mins": 120, "5 mins": 300, "15 mins": 900, "30 mins": 1800, "1 hour": 3600}


def parse_end(text: str, now: datetime) -> datetime:
    """endDateTime of a historical request ('' = now)."""
    if not text:
        return now
    text = text.replace("-", " ").replace(" UTC", "").strip()
    return datetime.strptime(text, "%Y%m%d %H:%M:%S").replace(tzinfo=UTC)


class RequestHandlers:
    """Handlers for one session; each sends its replies through the session."""

    def __init__(self, gateway: FakeGateway, session: ClientSession) -> None:
        self.gateway = gateway
        self.session = session
        self.table: dict[str, Callable[[list[str]], None]] = {
            "1": self.req_mkt_data, "2": self.cancel_mkt_data, "3": self.place_order,
            "4": self.cancel_order, "5": self.req_open_orders, "6": self.req_account_updates,
            "7": self.req_executions, "8": self.req_ids, "9": self.req_contract_details,
            "17": self.req_managed_accounts, "20": self.req_historical_data,
            "25": self.ignore, "49": self.req_current_time, "50": self.req_realtime_bars,
            "51": self.cancel_realtime_bars, "58": self.req_global_cancel,
            "61": self.req_positions, "62": self.req_account_summary, "63": self.ignore,
            "64": self.ignore, "76": self.req_account_updates_multi,
            "99": self.req_completed_orders, "15": self.ignore,
            "12": self.req_news_bulletins, "13": self.cancel_news_bulletins,
        }

    def handle(self, fields: list[str]) -> None:
        handler = self.table.get(fields[0])
        if handler is None:
            logger.info("ignoring request %s", fields[0])
            return
        handler(fields)

    def ignore(self, fields: list[str]) -> None:
        return None

    @property
    def client_id(self) -> int:
        return self.session.client_id or 0

    def send(self, fields: list[object]) -> None:
        self.session.send(fields)

    # --- contracts --------------------------------------------------------------------------

    def resolve(self, c: list[str], include_expired: bool = False) -> list[ListedFuture]:
        """Contracts matching 12 contract fields (conId alone when given)."""
        con_id = int(c[0] or 0)
        if con_id:
            every = [f for s in SPECS for f in self.gateway.futures(s, include_expired=True)]
            return [f for f in every if f.con_id == con_id]
        symbol, sec_type, expiry, exchange, local = c[1], c[2], c[3], c[7], c[10]
        if symbol not in SPECS or sec_type not in ("FUT", "CONTFUT"):
            return []
        if exchange not in ("", "CME", "GLOBEX"):
            return []
        futures = self.gateway.futures(symbol, include_expired and sec_type == "FUT")
        if sec_type == "CONTFUT":
            return [f for f in futures if f.last_trade_date >= self._today()][:1]
        if expiry:
            futures = [f for f in futures if expiry in (f.contract_month, f.last_trade_date)]
        return [f for f in futures if not local or f.local_symbol == local]

    def _today(self) -> str:
        return self.gateway.path.now.strftime("%Y%m%d")

    def tradable(self, req_id: int, c: list[str]) -> ListedFuture | None:
        """The one FUT contract an order or subscription is for, or None after an error."""
        if c[2] == "CONTFUT":
            self.send(wire.error(req_id, 321, "Error validating request.-'bB' : cause - "
                                              "CONTFUT cannot be used for this request"))
            return None
        found = self.resolve(c)
        if len(found) != 1:
            self.send(wire.error(req_id, 200, "No security definition has been found for the "
                                              "request"))
            return None
        fut = found[0]
        symbol, expiry = c[1], c[3]
        if (symbol and symbol != fut.symbol) or (
                expiry and expiry not in (fut.contract_month, fut.last_trade_date)):
            self.send(wire.error(req_id, 478, "Parameters in request conflicts with contract "
                                              "parameters received by contract id"))
            return None
        return fut

    def req_contract_details(self, f: list[str]) -> None:
        req_id = int(f[2])
        found = self.resolve(f[3:15], include_expired=f[15] == "1")
        if not found:
            self.send(wire.error(req_id, 200, "No security definition has been found for the "
                                              "request"))
            return
        for fut in found:
            self.send(wire.contract_details(req_id, fut, f[5] or "FUT"))
        self.send([52, 1, req_id])

    # --- market data ------------------------------------------------------------------------

    def req_historical_data(self, f: list[str]) -> None:
        req_id, contract = int(f[1]), f[2:14]
        end_text, bar_size, duration = f[15], f[16], f[17]
        format_date, keep_up = int(f[20] or 1), f[21] == "1"
        if keep_up and end_text:
            self.send(wire.error(req_id, 321, "Error validating request:-'bX' : cause - "
                                              "end date must be empty with keepUpToDate"))
            return
        found = self.resolve(contract, include_expired=f[14] == "1")
        if not found:
            self.send(wire.error(req_id, 200, "No security definition has been found"))
            return
        key = (tuple(contract), end_text, bar_size, duration)
        last = self.gateway.history_requests.get(key)
        bar_s = BAR_SIZES_S[bar_size]
        if bar_s <= 30 and last is not None and time.monotonic() - last < PACING_IDENTICAL_S:
            self.send(wire.error(req_id, 162, "Historical Market Data Service error message:"
                                              "Historical data request pacing violation"))
            return
        self.gateway.history_requests[key] = time.monotonic()
        amount, unit = duration.split()
        seconds = int(amount) * DURATION_UNITS_S[unit]
        end = parse_end(end_text, self.gateway.path.now)
        bars = self.gateway.path.window(end, seconds, bar_s)
        if not bars:
            self.send(wire.error(req_id, 162, "Historical Market Data Service error message:"
                                              "HMDS query returned no data"))
            return
        start = end - timedelta(seconds=seconds)
        basis = self.basis_points(found[0])
        self.send(wire.historical_data(
            req_id, start, end, ((b.ts, b.open + basis, b.high + basis, b.low + basis,
                                  b.close + basis, b.volume) for b in bars), format_date))

    def basis_points(self, fut: ListedFuture) -> float:
        """How far ``fut`` trades above the front month of the gateway's start (history only)."""
        per_quarter = self.gateway.config.contract_basis_points
        if not per_quarter:
            return 0.0
        front = listed_futures(fut.symbol, self.gateway.config.start.date())[0]
        quarters = (int(fut.contract_month) // 100 * 12 + int(fut.contract_month) % 100
                    - int(front.contract_month) // 100 * 12
                    - int(front.contract_month) % 100) // 3
        return quarters * per_quarter

    def req_realtime_bars(self, f: list[str]) -> None:
        req_id = int(f[2])
        if self.tradable(req_id, f[3:15]) is not None:
            self.session.bar_subscriptions.add(req_id)

    def cancel_realtime_bars(self, f: list[str]) -> None:
        self.session.bar_subscriptions.discard(int(f[2]))

    def req_mkt_data(self, f: list[str]) -> None:
        req_id = int(f[2])
        if f[5] == "NEWS":
            self.req_news_ticks(req_id, f[10], f[16])
            return
        if self.tradable(req_id, f[3:15]) is None:
            return
        self.session.tick_subscriptions.add(req_id)
        self.send([81, req_id, TICK, "a60001", 3])
        self.send([58, 1, req_id, 1])
        self.send([1, 6, req_id, 4, self.gateway.path.last_price, 1, 0])

    def cancel_mkt_data(self, f: list[str]) -> None:
        self.session.tick_subscriptions.discard(int(f[2]))
        self.session.news_subscriptions.pop(int(f[2]), None)

    # --- news -------------------------------------------------------------------------------

    def req_news_ticks(self, req_id: int, provider: str, generic_ticks: str) -> None:
        """A NEWS contract with generic tick 292: headlines of ``provider`` as tickNews (84)."""
        if "292" not in generic_ticks.split(","):
            self.send(wire.error(req_id, 321, "Error validating request.-'bP' : cause - a NEWS "
                                              "contract needs generic tick 292"))
            return
        if provider not in self.gateway.news_providers:
            self.send(wire.error(req_id, 10276, f"News feed is not allowed: {provider}"))
            return
        self.session.news_subscriptions[req_id] = provider

    def req_news_bulletins(self, f: list[str]) -> None:
        """Bulletins from now on (14); with allMsgs=1 first every bulletin of the day."""
        self.session.news_bulletins = True
        if f[2] == "1":
            for fields in self.gateway.bulletins:
                self.send(fields)

    def cancel_news_bulletins(self, f: list[str]) -> None:
        self.session.news_bulletins = False

    def req_current_time(self, f: list[str]) -> None:
        self.send([49, 1, int(self.gateway.path.now.timestamp())])

    # --- orders -----------------------------------------------------------------------------

    def place_order(self, f: list[str]) -> None:
        order_id = int(f[1])
        fut = self.tradable(order_id, f[2:14])
        if fut is None:
            return
        lmt = float(f[19]) if f[19] else None
        aux = float(f[20]) if f[20] else None
        for price in (lmt, aux):
            if price is not None and abs(price / TICK - round(price / TICK)) > 1e-9:
                self.send(wire.error(order_id, 110, "The price does not conform to the minimum "
                                                    "price variation for this contract."))
                return
        order = FakeOrder(
            client_id=self.client_id, order_id=order_id, perm_id=0, fut=fut, action=f[16],
            qty=wire.num(f[17]), order_type=f[18], lmt=lmt, aux=aux, tif=f[21] or "DAY",
            oca_group=f[22], oca_type=int(f[46] or 0), account=f[23] or self.gateway.config.account,
            order_ref=f[26], parent_id=int(f[28] or 0), outside_rth=f[33] == "1",
        )
        self.gateway.venue.place(order, transmit=f[27] == "1")

    def cancel_order(self, f: list[str]) -> None:
        self.gateway.venue.cancel(self.client_id, int(f[2]))

    def req_global_cancel(self, f: list[str]) -> None:
        self.gateway.venue.cancel_all()

    def req_ids(self, f: list[str]) -> None:
        self.send([9, 1, self.gateway.next_valid_id])

    def req_open_orders(self, f: list[str]) -> None:
        venue = self.gateway.venue
        for order in venue.open_orders(self.client_id):
            for message in venue.open_order_messages(order):
                self.send(message)
        self.send([53, 1])

    def req_completed_orders(self, f: list[str]) -> None:
        self.send([102])

    def req_executions(self, f: list[str]) -> None:
        req_id, wanted_client = int(f[2]), int(f[3] or 0)
        venue = self.gateway.venue
        for execution in venue.executions:
            if wanted_client and execution.order.client_id != wanted_client:
                continue
            self.send(venue.exec_message(execution, req_id))
            self.send(wire.commission_report(execution.exec_id, execution.commission,
                                             execution.realized_pnl))
        self.send([55, 1, req_id])

    # --- account ----------------------------------------------------------------------------

    def _net_liquidation(self) -> float:
        return 1_000_000.0 + self.gateway.venue.realized_usd

    def req_positions(self, f: list[str]) -> None:
        for message in self.gateway.venue.position_messages(self.gateway.path.last_price):
            if message[0] == 61:
                self.send(message)
        self.send([62, 1])

    def req_account_updates(self, f: list[str]) -> None:
        account = self.gateway.config.account
        for message in wire.account_values(account, self._net_liquidation()):
            self.send(message)
        for message in self.gateway.venue.position_messages(self.gateway.path.last_price):
            if message[0] == 7:
                self.send(message)
        self.send([8, 1, self.gateway.path.now.strftime("%H:%M")])
        self.send([54, 1, account])

    def req_account_updates_multi(self, f: list[str]) -> None:
        req_id, account = int(f[2]), self.gateway.config.account
        self.send([73, 1, req_id, account, "", "NetLiquidation",
                   f"{self._net_liquidation():.2f}", "USD"])
        self.send([74, 1, req_id])

    def req_account_summary(self, f: list[str]) -> None:
        req_id, tags = int(f[2]), f[4].split(",")
        for tag in tags:
            value = f"{self._net_liquidation():.2f}" if tag != "AccountType" else "INDIVIDUAL"
            self.send([63, 1, req_id, self.gateway.config.account, tag, value, "USD"])
        self.send([64, 1, req_id])

    def req_managed_accounts(self, f: list[str]) -> None:
        self.send([15, 1, self.gateway.config.account])

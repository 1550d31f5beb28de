"""Find the MES/ES contract to trade: list the quarterlies, pick the front month, qualify by conId.

The front month is the first contract whose roll date (expiry minus the configured days) is
still ahead; on the roll date the next quarterly takes over. The choice is a pure function of
the listed expiries and the date, so it is tested without IB.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from ib_async import IB, Contract, Future

from shared.domain.errors import TemporaryError


@dataclass(frozen=True, slots=True)
class ListedContract:
    """One listed quarterly: IB's conId, local symbol and last trading day."""

    con_id: int
    local_symbol: str
    expiry: date


def parse_expiry(text: str) -> date:
    """IB's YYYYMMDD (possibly followed by a time) as a date."""
    return datetime.strptime(text[:8], "%Y%m%d").date()


def choose_front_month(
    listed: list[ListedContract], today: date, roll_days_before_expiry: int
) -> ListedContract:
    """The contract to trade on ``today``: the first whose roll date is still in the future."""
    for contract in sorted(listed, key=lambda c: c.expiry):
        if contract.expiry - timedelta(days=roll_days_before_expiry) > today:
            return contract
    raise TemporaryError(f"no listed contract expires more than {roll_days_before_expiry} "
                         f"days after {today}")


async def list_contracts(
    ib: IB, symbol: str, exchange: str, include_expired: bool = False
) -> list[ListedContract]:
    """Every quarterly IB lists for ``symbol`` (expired ones too when asked)."""
    query = Future(symbol, exchange=exchange, currency="USD", includeExpired=include_expired)
    details = await ib.reqContractDetailsAsync(query)
    listed = []
    for item in details:
        contract = item.contract
        if contract is None or not contract.conId:
            continue
        expiry_text = item.realExpirationDate or contract.lastTradeDateOrContractMonth
        listed.append(ListedContract(contract.conId, contract.localSymbol,
                                     parse_expiry(expiry_text)))
    if not listed:
        raise TemporaryError(f"IB lists no {symbol} futures on {exchange}")
    return listed


async def qualify(ib: IB, con_id: int, exchange: str) -> Contract:
    """A fully qualified ``Future`` for ``con_id`` (orders and real-time data need FUT)."""
    future = Future(conId=con_id, exchange=exchange)
    qualified = await ib.qualifyContractsAsync(future)
    if not qualified or qualified[0] is None:
        raise TemporaryError(f"IB could not qualify contract {con_id}")
    return future


async def qualify_front_month(
    ib: IB, symbol: str, exchange: str, today: date, roll_days_before_expiry: int
) -> Contract:
    """Qualify the front-month future of ``symbol`` for ``today``."""
    listed = await list_contracts(ib, symbol, exchange)
    chosen = choose_front_month(listed, today, roll_days_before_expiry)
    return await qualify(ib, chosen.con_id, exchange)

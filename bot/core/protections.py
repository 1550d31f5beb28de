"""Protections: the limits a day trader adds on top of the risk manager's fixed rules.

Pure arithmetic on ``RiskState`` (no I/O, no clock), shared by the live loop and the backtester:

- % of equity limits (``effective_risk``, ``cap_exposure``): risk per trade and the daily loss
  cap as a % of the equity at the start of the trading day; where ``risk`` also gives a fixed
  dollar limit, the smaller one applies. Exposure caps the position's notional.
- the daily profit target and give-back lock (``mark``): the day's P&L counts the open position
  marked at each bar's close; once the peak reaches the target, or the day gives back the set
  share of its peak, no new entries for the rest of the trading day.
- the multi-day drawdown pause: no entries while the net P&L of the last N sessions (today
  included, closed trades) is at or below minus the limit.
- economic-release blackouts (``ReleaseCalendar``): no entries from N minutes before to M
  minutes after a listed release; optionally exit an open position before it.

Each refuses entries only (or lowers the contract count); none moves a stop or a target.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import StrEnum

from bot.core import risk
from bot.core.risk import RiskState
from bot.core.sessions import CmeSessionClock
from shared.calendars.releases import EASTERN, Release
from shared.config.protections import MAX_DRAWDOWN_SESSIONS, ProtectionsConfig
from shared.config.settings import RiskConfig
from shared.domain.instruments import Instrument
from shared.domain.models import OrderPlan, Rejection


class ProtectionRule(StrEnum):
    """Names of the protections, as recorded with every rejection."""

    PROFIT_TARGET = "daily_profit_target"
    GIVEBACK = "giveback_lock"
    DRAWDOWN = "multi_day_drawdown"
    BLACKOUT = "release_blackout"
    EXPOSURE = "max_exposure"


@dataclass(frozen=True)
class ReleaseCalendar:
    """The listed releases, sorted by time, searchable by instant."""

    releases: tuple[Release, ...] = ()
    _times: tuple[datetime, ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        ordered = tuple(sorted(self.releases, key=lambda r: r.at))
        object.__setattr__(self, "releases", ordered)
        object.__setattr__(self, "_times", tuple(r.at for r in ordered))

    def near(self, now: datetime, before_minutes: float, after_minutes: float) -> Release | None:
        """The first release at or after ``now - after`` and at or before ``now + before``."""
        if not self._times:
            return None
        index = bisect_left(self._times, now - timedelta(minutes=after_minutes))
        if index < len(self._times) and self._times[index] <= now + timedelta(
                minutes=before_minutes):
            return self.releases[index]
        return None


NO_RELEASES = ReleaseCalendar()


def begin_day(
    state: RiskState, day: date, clock: CmeSessionClock, starting_equity_cents: int
) -> RiskState:
    """``risk.start_day`` plus the protections' day: yesterday's P&L joins the multi-day
    history, the day's equity is fixed, the profit lock and the day's peak reset."""
    if state.trading_day == day:
        return state
    past = state.past_days
    if state.trading_day is not None:
        past = (*past, (state.trading_day, state.realized_today_cents))[-MAX_DRAWDOWN_SESSIONS:]
    state = risk.start_day(state, day)
    return replace(
        state, past_days=past,
        recent_sessions=tuple(clock.trading_days_through(day, MAX_DRAWDOWN_SESSIONS)),
        day_start_equity_cents=starting_equity_cents + state.realized_total_cents,
        day_peak_pnl_cents=max(0, state.open_pnl_cents), profit_lock="", profit_lock_rule="",
    )


def restore(
    state: RiskState, sessions: list[date], pnl_by_day: dict[date, int],
    today_pnls_cents: list[int], realized_total_cents: int, starting_equity_cents: int,
    cfg: ProtectionsConfig,
) -> RiskState:
    """After a restart: the history and equity from the journal (``state`` is today's, rebuilt
    by ``risk.rebuild_state``). The day's peak is rebuilt from closed trades only (open P&L
    between bars is not journaled)."""
    day = state.trading_day
    restored = replace(
        state, realized_total_cents=realized_total_cents,
        day_start_equity_cents=starting_equity_cents + realized_total_cents
        - state.realized_today_cents,
        past_days=tuple((d, pnl_by_day.get(d, 0)) for d in sessions if d != day),
        recent_sessions=tuple(sessions), day_peak_pnl_cents=0, open_pnl_cents=0,
    )
    running = 0
    for pnl in today_pnls_cents:
        running += pnl
        restored = mark(replace(restored, realized_today_cents=running), 0, cfg)
    return replace(restored, realized_today_cents=state.realized_today_cents)


def mark(state: RiskState, open_pnl_cents: int, cfg: ProtectionsConfig) -> RiskState:
    """Mark the day's P&L (realized today + ``open_pnl_cents``) at a bar's close: its peak, and
    the profit target / give-back lock, which once set holds until the next trading day."""
    day_pnl = state.realized_today_cents + open_pnl_cents
    peak = max(state.day_peak_pnl_cents, day_pnl)
    rule, reason = state.profit_lock_rule, state.profit_lock
    if not rule:
        rule, reason = _lock(day_pnl, peak, cfg)
    return replace(state, open_pnl_cents=open_pnl_cents, day_peak_pnl_cents=peak,
                   profit_lock_rule=rule, profit_lock=reason)


def _lock(day_pnl_cents: int, peak_cents: int, cfg: ProtectionsConfig) -> tuple[str, str]:
    target_cents = round(cfg.daily_profit_target_usd * 100)
    if target_cents > 0 and peak_cents >= target_cents:
        return (ProtectionRule.PROFIT_TARGET,
                f"the day's P&L reached ${peak_cents / 100:,.2f} (profit target "
                f"${cfg.daily_profit_target_usd:,.2f}): no new entries today")
    armed = peak_cents > 0 and peak_cents >= round(cfg.giveback_min_peak_usd * 100)
    if cfg.giveback_pct > 0 and armed:
        given = peak_cents - day_pnl_cents
        if given >= peak_cents * cfg.giveback_pct / 100:
            return (ProtectionRule.GIVEBACK,
                    f"gave back ${given / 100:,.2f} of the day's ${peak_cents / 100:,.2f} peak "
                    f"(limit {cfg.giveback_pct:g}%): no new entries today")
    return "", ""


def drawdown_cents(state: RiskState, sessions: int) -> int:
    """Net closed P&L of the last ``sessions`` trading days, today included."""
    window = set(state.recent_sessions[-sessions:])
    earlier = sum(p for d, p in state.past_days if d in window and d != state.trading_day)
    return state.realized_today_cents + earlier


def entry_block(
    state: RiskState, cfg: ProtectionsConfig, now: datetime, calendar: ReleaseCalendar
) -> Rejection | None:
    """Why a protection refuses any new entry at ``now`` (None: none does)."""
    if state.profit_lock_rule:
        return Rejection(state.profit_lock_rule, state.profit_lock)
    if cfg.drawdown_sessions > 0:
        net = drawdown_cents(state, cfg.drawdown_sessions)
        if net <= -round(cfg.drawdown_limit_usd * 100):
            return Rejection(
                ProtectionRule.DRAWDOWN,
                f"net {_usd(net)} over the last {cfg.drawdown_sessions} sessions reached "
                f"the -${cfg.drawdown_limit_usd:,.2f} limit: paused until the window rolls on",
            )
    if cfg.blackout_events:
        release = calendar.near(now, cfg.blackout_before_minutes, cfg.blackout_after_minutes)
        if release is not None:
            return Rejection(
                ProtectionRule.BLACKOUT,
                f"{release.event} at {release.at.astimezone(EASTERN):%Y-%m-%d %H:%M} ET: no "
                f"entries from {cfg.blackout_before_minutes:g} min before to "
                f"{cfg.blackout_after_minutes:g} min after",
            )
    return None


def _usd(cents: int) -> str:
    """Signed dollars, the sign before the $: -$550.00."""
    return f"{'-' if cents < 0 else ''}${abs(cents) / 100:,.2f}"


def effective_risk(cfg: RiskConfig, prot: ProtectionsConfig, equity_cents: int) -> RiskConfig:
    """``cfg`` with the per-trade risk and the daily loss cap lowered to their % of equity
    where that is smaller (``cfg`` itself when no % limit is set)."""
    equity_usd = max(equity_cents, 0) / 100
    updates: dict[str, float] = {}
    if prot.risk_per_trade_pct > 0:
        by_pct = equity_usd * prot.risk_per_trade_pct / 100
        if by_pct < cfg.risk_per_trade_usd:
            updates["risk_per_trade_usd"] = by_pct
    if prot.daily_loss_limit_pct > 0:
        by_pct = equity_usd * prot.daily_loss_limit_pct / 100
        if by_pct < cfg.daily_loss_limit_usd:
            updates["daily_loss_limit_usd"] = by_pct
    return cfg.model_copy(update=updates) if updates else cfg


def cap_exposure(
    plan: OrderPlan, prot: ProtectionsConfig, equity_cents: int, instrument: Instrument
) -> OrderPlan | Rejection:
    """Fewer contracts when the position's notional would exceed the exposure limit; refused
    when one contract already does."""
    if prot.max_exposure_pct <= 0:
        return plan
    per_contract_usd = plan.entry_price * instrument.point_value_usd
    allowed_usd = max(equity_cents, 0) / 100 * prot.max_exposure_pct / 100
    cap = int(allowed_usd // per_contract_usd) if per_contract_usd > 0 else 0
    if cap < 1:
        return Rejection(
            ProtectionRule.EXPOSURE,
            f"one contract's notional ${per_contract_usd:,.0f} is more than "
            f"{prot.max_exposure_pct:g}% of equity (${allowed_usd:,.0f})",
        )
    if plan.contracts <= cap:
        return plan
    return replace(plan, contracts=cap, reason=f"{plan.reason}; capped to {cap} by the "
                   f"{prot.max_exposure_pct:g}% exposure limit (${allowed_usd:,.0f})")


def flatten_due(
    now: datetime, cfg: ProtectionsConfig, calendar: ReleaseCalendar
) -> Release | None:
    """The release an open position should be exited before at ``now`` (None: none)."""
    if cfg.flatten_before_release_minutes <= 0:
        return None
    return calendar.near(now, cfg.flatten_before_release_minutes, 0.0)


def _next_release(calendar: ReleaseCalendar, now: datetime, after_minutes: float) -> str:
    release = calendar.near(now, 366 * 24 * 60.0, after_minutes)
    if release is None:
        return "no listed release ahead"
    return f"next {release.event} {release.at.astimezone(EASTERN):%a %Y-%m-%d %H:%M} ET"


def status_lines(
    state: RiskState, prot: ProtectionsConfig, fixed: RiskConfig, now: datetime,
    calendar: ReleaseCalendar,
) -> tuple[str, ...]:
    """One line per protection in force, with its state, for the dashboard's risk panel."""
    equity_usd = max(state.day_start_equity_cents, 0) / 100
    lines = []
    for pct, fixed_usd, what in ((prot.risk_per_trade_pct, fixed.risk_per_trade_usd,
                                  "Risk per trade"),
                                 (prot.daily_loss_limit_pct, fixed.daily_loss_limit_usd,
                                  "Daily loss cap")):
        if pct > 0:
            by_pct = equity_usd * pct / 100
            lines.append(f"{what} ${min(by_pct, fixed_usd):,.2f}: {pct:g}% of ${equity_usd:,.0f} "
                         f"equity is ${by_pct:,.2f}, the fixed limit ${fixed_usd:,.2f}; the "
                         "smaller applies")
    if prot.max_exposure_pct > 0:
        lines.append(f"Exposure at most {prot.max_exposure_pct:g}% of equity: "
                     f"${equity_usd * prot.max_exposure_pct / 100:,.0f} notional")
    day_pnl = state.realized_today_cents + state.open_pnl_cents
    if prot.daily_profit_target_usd > 0:
        lines.append(f"Profit target ${prot.daily_profit_target_usd:,.2f}: day P&L "
                     f"{_usd(day_pnl)} (peak {_usd(state.day_peak_pnl_cents)})")
    if prot.giveback_pct > 0:
        lines.append(f"Give-back lock at {prot.giveback_pct:g}% of the day's peak (armed from "
                     f"${prot.giveback_min_peak_usd:,.2f}): peak {_usd(state.day_peak_pnl_cents)}"
                     f", day P&L {_usd(day_pnl)}")
    if prot.drawdown_sessions > 0:
        lines.append(f"Last {prot.drawdown_sessions} sessions: "
                     f"{_usd(drawdown_cents(state, prot.drawdown_sessions))} (pause at "
                     f"-${prot.drawdown_limit_usd:,.2f})")
    if prot.blackout_events:
        flatten = (f", flatten {prot.flatten_before_release_minutes:g} min before"
                   if prot.flatten_before_release_minutes > 0 else "")
        lines.append(f"Release blackout {', '.join(prot.blackout_events)} "
                     f"-{prot.blackout_before_minutes:g}/+{prot.blackout_after_minutes:g} min"
                     f"{flatten}: {_next_release(calendar, now, prot.blackout_after_minutes)}")
    if state.profit_lock:
        lines.append(f"Locked for the day: {state.profit_lock}")
    return tuple(lines)

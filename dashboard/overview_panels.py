"""Streamlit panels of the trader's overview: position with stop and target, risk, session,
and the drill-down of one trade. Values come from ``trader_view`` and the stores."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from dashboard import bot_down, fmt, llm_reports, plain, tables, trader_view, zones
from shared.persistence.ops_store import Heartbeat
from shared.persistence.trade_story_store import TradeStory


def _level_line(name: str, level: trader_view.Level | None) -> str:
    if level is None:
        return f"**{name}:** none working"
    return (f"**{name}** {fmt.points(level.price)} · {fmt.points(level.distance_points)} pts "
            f"away · {fmt.signed_usd(level.pnl_if_filled_cents)} if filled")


def position_panel(heartbeat: Heartbeat | None, zone: str, running: bool = True,
                   controls: Callable[[], None] | None = None) -> None:
    """Side and size, entry, last price, open P&L, working stop and target with distances;
    while the bot is down, what still protects the position; then the per-trade ``controls``
    (``dashboard.trade_controls``) when given."""
    view = trader_view.position_view(heartbeat)
    with st.container(border=True):
        st.markdown("**Position**")
        if view is None:
            st.markdown("Flat: no open position.")
            if controls is not None:
                controls()
            return
        arrow = "▲" if view.side == "long" else "▼"
        st.markdown(f"### {arrow} {view.side.upper()} {view.contracts}")
        st.markdown(f"Entry {fmt.points(view.entry_price)} at "
                    f"{zones.fmt_time(view.entry_ts, zone)} · last "
                    f"{fmt.points(view.last_price)} · open P&L "
                    f"**{fmt.signed_usd(view.open_pnl_cents)}**")
        st.markdown(_level_line("Stop", view.stop))
        st.markdown(_level_line("Target", view.target))
        if not running:
            st.warning(bot_down.protection_while_down(heartbeat.mode))
        elif view.stop is None:
            st.error("No working protective stop: the bot re-places it on its next check.")
        if controls is not None:
            controls()


def risk_panel(heartbeat: Heartbeat | None, running: bool = True) -> None:
    """Daily loss used against the cap, trades left, loss streak, cooldown, halt/block; no
    "entries allowed" while the bot is not running."""
    with st.container(border=True):
        st.markdown("**Risk today**")
        if heartbeat is None:
            st.markdown("No heartbeat yet.")
            return
        view = trader_view.risk_view(heartbeat)
        st.progress(view.loss_used_fraction,
                    text=f"Daily loss used {fmt.usd(max(0, -view.realized_today_cents))} of "
                         f"{fmt.usd(view.daily_loss_limit_cents)} "
                         f"(realized {fmt.usd(view.realized_today_cents)})")
        st.markdown(f"Trades left **{view.trades_left}** of {view.max_trades_per_day} · loss "
                    f"streak **{view.consecutive_losses}** of {view.max_consecutive_losses} · "
                    f"cooldown left **{view.cooldown_left_s / 60:.1f} min**")
        if view.halted:
            st.error(f"Halted: {plain.escape(view.halt_reason or 'by command')}")
        elif not running:
            st.info("No new entries: the bot is not running")
        elif view.blocked_reason:
            st.warning(f"New entries blocked: {plain.escape(view.blocked_reason)}")
        else:
            st.success("New entries allowed")
        if view.protections:
            st.markdown("**Protections**")
            for line in view.protections:
                st.caption(plain.escape(line))


def session_panel(heartbeat: Heartbeat | None, zone: str) -> None:
    """CME session phase at the bot's market time and when it changes next."""
    with st.container(border=True):
        st.markdown("**Market session (CME Globex)**")
        if heartbeat is None or heartbeat.last_bar_ts is None:
            st.markdown("Unknown until the bot has seen a bar.")
            return
        phase = heartbeat.session_phase.value
        st.markdown(f"### {phase.upper()}")
        next_change = heartbeat.session_next_change_at
        if next_change is not None:
            left_min = (next_change - heartbeat.last_bar_ts).total_seconds() / 60
            what = "closes" if phase == "open" else "opens"
            st.markdown(f"{what.capitalize()} at {zones.fmt_time(next_change, zone)} "
                        f"(in {left_min:,.0f} min)")
        st.caption(f"as of the bot's last bar, {zones.fmt_time(heartbeat.last_bar_ts, zone)}")


def trade_label(row: pd.Series, zone: str) -> str:
    """How a trade is listed in the drill-down selector."""
    arrow = "▲" if row["side"] == "long" else "▼"
    return (f"{arrow} {row['side']} {row['contracts']} · "
            f"{zones.fmt_time(row['entry_ts'], zone, '%m-%d %H:%M')} · "
            f"{fmt.usd_amount(row['pnl_net_usd'])} · {row['exit_reason']}")


def drilldown(story: TradeStory, zone: str) -> None:
    """One trade: its decision (reasons, votes, confidence steps), orders, fills, LLM call."""
    decision = story.decision
    if decision is None:
        st.info("No journaled decision for this trade.")
    else:
        st.markdown(f"**Decision** at {zones.fmt_time(decision.ts, zone)} · close "
                    f"{fmt.points(decision.close)} · signal {decision.signal_action} "
                    f"{decision.signal_confidence:.2f} → memory {decision.memory_adjustment:+.2f}"
                    f" → LLM {decision.llm_adjustment:+.2f} → final "
                    f"{decision.final_confidence:.2f}")
        if decision.reasons:
            st.text("\n".join(f"- {reason}" for reason in decision.reasons))
        votes = pd.DataFrame([{"strategy": v.strategy, "vote": v.action,
                               "confidence": v.confidence, "reasons": "; ".join(v.reasons)}
                              for v in decision.votes])
        if not votes.empty:
            st.dataframe(votes, hide_index=True, column_config={
                "confidence": st.column_config.NumberColumn(format="%.2f"),
                "reasons": st.column_config.TextColumn(width="large")})
    left, right = st.columns(2)
    orders = pd.DataFrame([{"role": o.role, "placed": o.created_ts, "side": o.side,
                            "type": o.order_type, "qty": o.contracts, "price": o.price,
                            "status": o.status, "exit reason": o.exit_reason}
                           for o in story.orders])
    fills = pd.DataFrame([{"role": f.role, "time": f.ts, "side": f.side, "qty": f.contracts,
                           "price": f.price,
                           "commission_usd": f.commission_cents / 100} for f in story.fills])
    left.markdown("**Orders**")
    if not orders.empty:
        left.dataframe(zones.in_zone(orders, zone), hide_index=True, column_config={
            "price": st.column_config.NumberColumn(format=fmt.PRICE_COLUMN),
            "placed": st.column_config.DatetimeColumn(format=tables.SHORT_TIME)})
    right.markdown("**Fills**")
    if not fills.empty:
        right.dataframe(zones.in_zone(fills, zone), hide_index=True, column_config={
            "price": st.column_config.NumberColumn(format=fmt.PRICE_COLUMN),
            "time": st.column_config.DatetimeColumn(format=tables.SHORT_TIME),
            "commission_usd": st.column_config.NumberColumn("commission",
                                                            format=fmt.USD_COLUMN)})
    call = story.llm_call
    if call is None:
        st.caption("No LLM bias was in force at entry.")
        return
    summary = llm_reports.reply_summary(call)
    st.markdown(f"**LLM call in force** ({plain.escape(call.trigger)}, "
                f"{zones.fmt_time(call.created_at, zone)}): {plain.escape(summary.headline)}")
    if summary.rationale:
        plain.labelled_text("Rationale", summary.rationale)
    if summary.key_factors:
        plain.labelled_text("Key factors", "\n".join(summary.key_factors))
    if summary.risk_notes:
        plain.labelled_text("Risk notes", summary.risk_notes)

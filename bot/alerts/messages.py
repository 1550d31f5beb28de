"""Journal rows -> alerts: which kind each is, its de-duplication key and its text.

Pure functions. The key names what an alert is about (``exit:<trade id>``,
``risk:daily_loss_cap:<day>``), so raising it again after a restart is recognised and ignored.
The first line of every text is its headline (an email's subject).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.core.risk import RiskRule
from shared.domain.alerts import AlertKind
from shared.domain.metrics import trading_day
from shared.domain.models import TradeRecord
from shared.persistence.alert_feed_store import (
    EntryFillRow,
    EventRow,
    FinishedRunRow,
    LlmCallRow,
    RiskRefusalRow,
    StopMoveRow,
)


@dataclass(frozen=True, slots=True)
class Alert:
    """Something worth telling: its kind, what it is about (``key``) and the text."""

    kind: str
    key: str
    text: str
    event_ts: datetime | None

    @property
    def headline(self) -> str:
        return self.text.split("\n", 1)[0]


EVENT_KINDS: dict[str, AlertKind] = {
    "flatten": AlertKind.KILL_SWITCH,
    "halt": AlertKind.HALT,
    "resume": AlertKind.RESUME,
    "ib_disconnected": AlertKind.BROKER_DISCONNECTED,
    "ib_connectivity_lost": AlertKind.BROKER_DISCONNECTED,
    "ib_connected": AlertKind.BROKER_RECONNECTED,
    "ib_connectivity_restored": AlertKind.BROKER_RECONNECTED,
    "reconcile": AlertKind.RECONCILIATION,
    "stop_replaced": AlertKind.RECONCILIATION,
    "position_adopted": AlertKind.RECONCILIATION,
    "position_missing_at_ib": AlertKind.RECONCILIATION,
    "order_adopted": AlertKind.RECONCILIATION,
    "foreign_order": AlertKind.RECONCILIATION,
    "foreign_execution": AlertKind.RECONCILIATION,
    "unexpected_fill": AlertKind.RECONCILIATION,
    "entry_outcome_unknown": AlertKind.RECONCILIATION,
    "journal_write_failed": AlertKind.JOURNAL_FAILURE,
    "journal_error": AlertKind.JOURNAL_FAILURE,
    "config_reloaded": AlertKind.CONFIG_APPLIED,
    "config_rejected": AlertKind.CONFIG_REJECTED,
    "rules_proposed": AlertKind.RULES_PROPOSED,
    "research_finished": AlertKind.RESEARCH_FINISHED,
    "bad_fill": AlertKind.INCIDENT,  # a fill lost beyond the disaster stop (bot/core/fill_guard)
    "level_shift": AlertKind.INCIDENT,  # a held price jump: a roll splice or a real gap
    "ib_login_needed": AlertKind.IB_LOGIN_NEEDED,  # bot/adapters/ib/restart_watch
    "retrain_ready": AlertKind.RETRAIN,  # bot/learning/retrain: files prepared, not started
    "retrain_started": AlertKind.RETRAIN,
}
RISK_RULES = (RiskRule.DAILY_LOSS.value, RiskRule.CONSECUTIVE_LOSSES.value)
TITLES = {
    AlertKind.KILL_SWITCH: "KILL SWITCH", AlertKind.HALT: "Entries halted",
    AlertKind.RESUME: "Entries resumed", AlertKind.BROKER_DISCONNECTED: "Broker disconnected",
    AlertKind.BROKER_RECONNECTED: "Broker connected", AlertKind.RECONCILIATION: "Reconciliation",
    AlertKind.JOURNAL_FAILURE: "JOURNAL FAILURE", AlertKind.CONFIG_APPLIED: "Config applied",
    AlertKind.CONFIG_REJECTED: "Config rejected", AlertKind.RULES_PROPOSED: "Rules proposed",
    AlertKind.RESEARCH_FINISHED: "Research finished", AlertKind.INCIDENT: "Incident",
    AlertKind.IB_LOGIN_NEEDED: "IB Gateway needs a login", AlertKind.RETRAIN: "Retrain",
}


def usd(cents: int, signed: bool = True) -> str:
    """Cents as dollars: ``+$12.50``, ``-$3.00`` (or unsigned ``$3.00``)."""
    sign = ("+" if cents > 0 else "-" if cents < 0 else "") if signed else ""
    return f"{sign}${abs(cents) / 100:,.2f}"


def price(value: float | None) -> str:
    return "?" if value is None else f"{value:.2f}"


def when(ts: datetime) -> str:
    """A time in an alert, named UTC in words (a trader's phone shows no zone of its own)."""
    return ts.strftime("%Y-%m-%d %H:%M:%S UTC")


def entry_alert(fill: EntryFillRow) -> Alert:
    text = (f"ENTRY {fill.side.upper()} {fill.contracts} {fill.symbol} @ {price(fill.price)}\n"
            f"stop {price(fill.stop_price)} · target {price(fill.target_price)} · "
            f"{when(fill.ts)} · {fill.bracket_id}")
    return Alert(AlertKind.ENTRY, f"entry:{fill.row_id}", text, fill.ts)


def exit_alert(trade_id: int, trade: TradeRecord) -> Alert:
    text = (f"EXIT {trade.side.value.upper()} {trade.contracts} {trade.symbol} @ "
            f"{price(trade.exit_price)} ({trade.exit_reason.value}) · P&L "
            f"{usd(trade.pnl_net_cents)}\n"
            f"entry {price(trade.entry_price)} at {when(trade.entry_ts)} · gross "
            f"{usd(trade.pnl_gross_cents)} · commission {usd(trade.commission_cents, False)} · "
            f"{when(trade.exit_ts)} · {trade.bracket_id}")
    return Alert(AlertKind.EXIT, f"exit:{trade_id}", text, trade.exit_ts)


def stop_moved_alert(move: StopMoveRow) -> Alert:
    text = f"Stop moved to {price(move.price)}\n{move.bracket_id} · {when(move.ts)}"
    return Alert(AlertKind.STOP_MOVED, f"stop:{move.event_id}", text, move.ts)


def event_alert(event: EventRow) -> Alert | None:
    """The alert for a journaled event, or None when the event is not one users are told of."""
    kind = EVENT_KINDS.get(event.kind)
    if kind is None and event.severity == "incident":
        kind = AlertKind.INCIDENT
    if kind is None:
        return None
    text = f"{titled(TITLES.get(kind, kind.value), event.message)}\n{event.kind} · {when(event.ts)}"
    return Alert(kind, f"event:{event.event_id}", text, event.ts)


def titled(title: str, message: str) -> str:
    """``Title: message``, or the message alone (capitalised) when it already starts with the
    title: "entries halted: manual" reads "Entries halted: manual", never "Entries halted:
    entries halted: manual"."""
    if message.casefold().startswith(title.casefold()):
        return message[:1].upper() + message[1:]
    return f"{title}: {message}"


def risk_alert(refusal: RiskRefusalRow) -> Alert:
    day = trading_day(refusal.ts)
    reason = refusal.reasons[-1] if refusal.reasons else refusal.rule
    text = (f"Risk limit: no more entries today ({refusal.rule})\n{reason} · trading day {day} "
            f"· {when(refusal.ts)}")
    return Alert(AlertKind.RISK_LIMIT, f"risk:{refusal.rule}:{day}", text, refusal.ts)


def llm_call_alert(call: LlmCallRow, low_confidence_below: float) -> Alert | None:
    """A refusal (the governor's quota or dollar limit) or a low-confidence answer."""
    if call.status == "refused":
        day = call.created_at.date().isoformat()
        text = f"LLM quota exhausted: {call.error}\nno more LLM calls on {day} (UTC)"
        return Alert(AlertKind.LLM_QUOTA_EXHAUSTED, f"llm_exhausted:{day}", text,
                     call.created_at)
    if call.status == "ok" and call.confidence is not None and (
            call.confidence < low_confidence_below):
        text = (f"LLM answer with low confidence {call.confidence:.2f} "
                f"(below {low_confidence_below:.2f}): {call.bias} / {call.action}\n"
                f"call {call.call_id} · trigger {call.trigger} · {when(call.created_at)}")
        return Alert(AlertKind.LLM_LOW_CONFIDENCE, f"llm_low:{call.call_id}", text,
                     call.created_at)
    return None


def llm_warning_alert(day: str, what: str, used: str, at: datetime) -> Alert:
    text = f"LLM {what} at 80% of today's limit: {used}\nday {day} (UTC)"
    return Alert(AlertKind.LLM_QUOTA_WARNING, f"llm_warn:{what}:{day}", text, at)


def backtest_alert(run: FinishedRunRow) -> Alert:
    name = f" {run.name!r}" if run.name else ""
    if run.status != "done":
        text = f"Backtest #{run.run_id}{name} {run.status}\n{run.message}"
    else:
        m: dict[str, Any] = run.metrics
        text = (f"Backtest #{run.run_id}{name} done: {m.get('trades', 0)} trades, net "
                f"{usd(int(m.get('net_pnl_cents') or 0))}\n"
                f"win rate {float(m.get('win_rate') or 0):.0%} · max drawdown "
                f"{usd(int(m.get('max_drawdown_cents') or 0))} · profit factor "
                f"{float(m.get('profit_factor') or 0):.2f}")
    return Alert(AlertKind.BACKTEST_FINISHED, f"backtest:{run.run_id}", text, run.finished_at)

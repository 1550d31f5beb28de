"""The decision engine: one bar in, one journaled decision out — the same code live and in tests.

Per bar: the broker executes working orders against the bar, then features -> regime ->
strategies (given the rolling news sentiment when a sentiment book is in use) -> memory of past
setups (``bot.core.memory_book``, when ``memory.enabled``) -> LLM bias (``bot.core.llm_bias``)
-> risk -> learned rules (``bot.core.rules``) -> broker. Time comes only from the bars (a
decision is made at the bar's close time), so replaying the same bars gives the same journal.
The LLM bias is an input set between bars, never awaited. Memory, learned rules and the LLM only
move confidence or refuse an entry risk approved; stop, target and size come from the risk rules
alone (a learned rule may only shorten the time exit).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta

from bot.core import protections, risk
from bot.core.bracket_ids import bracket_id_for
from bot.core.decision_json import features_json, regime_json, votes_json
from bot.core.decision_labels import decision_labels
from bot.core.ensemble import combine
from bot.core.fill_guard import BAD_FILL, bad_fill
from bot.core.gates import EntryGate
from bot.core.incremental_features import IncrementalFeatures
from bot.core.llm_attribution import ShadowBook
from bot.core.llm_bias import LlmBiasState, LlmInfluence, llm_influence
from bot.core.llm_gate import GateStep, LlmGate
from bot.core.memory import MemoryIndex
from bot.core.memory_book import MemoryBook, commission_per_side_cents
from bot.core.memory_guard import NOT_CONSULTED, MemoryVerdict
from bot.core.regime import assess_regime
from bot.core.risk import EntryRequest, InstructionKind, RiskState
from bot.core.rules import NOT_ASKED, RuleBook, RulesVerdict, evaluate_entry
from bot.core.sentiment import HeadlineScore, SentimentBook
from bot.core.session_levels import session_tracker
from bot.core.sessions import CmeSessionClock
from bot.core.strategies import run_strategies
from bot.ports import Broker, Journal
from shared.config.settings import RiskConfig, Settings
from shared.domain.instruments import Instrument, get_instrument, usd_to_cents
from shared.domain.memory import MemoryRow, MemorySetup, ScalerSnapshot
from shared.domain.models import (
    Action,
    Bar,
    Bias,
    DecisionRecord,
    ExitReason,
    Features,
    OrderPlan,
    OrderRole,
    OrderStatus,
    Position,
    Regime,
    Rejection,
    Signal,
    Verdict,
)

MEMORY_RULE = "memory"  # the rule recorded when memory refuses an entry risk approved
LEARNED_RULE = "learned_rule"  # the rule recorded when a learned rule refuses an entry


class TradingEngine:
    """Holds the rolling window, risk counters, entry labels and memory; trades via a Broker.

    ``memory`` is the index of closed setups to start from (empty when absent; the live bot
    rebuilds it from the journal) and ``memory_open`` the setups of brackets still open. Setups
    are recorded whatever the config, so memory has a history when it is switched on; it is
    consulted only when ``memory.enabled``.
    """

    def __init__(
        self,
        settings: Settings,
        broker: Broker,
        journal: Journal,
        session_clock: CmeSessionClock,
        risk_state: RiskState | None = None,
        entry_labels: dict[str, dict[str, str]] | None = None,
        journal_inputs: bool = True,
        memory: MemoryIndex | None = None,
        memory_open: dict[str, MemoryRow] | None = None,
    ) -> None:
        self.settings = settings
        # Backtests keep decisions in memory only and never read their inputs back, so they may
        # skip serialising features, regime, votes and memory's nearest setups (a sixth of their
        # run time).
        self.journal_inputs = journal_inputs
        self.instrument: Instrument = get_instrument(settings.instrument.symbol)
        self.broker = broker
        self.journal = journal
        self.clock = session_clock
        self.risk_state = risk_state or RiskState()
        self.live_features = IncrementalFeatures(  # owns the window and the session levels
            settings.features, session_tracker(session_clock, settings))
        self.window = self.live_features.window
        self.bar_length = timedelta(seconds=settings.feed.bar_seconds)
        self.entry_labels: dict[str, dict[str, str]] = dict(entry_labels or {})
        self.last_bar: Bar | None = None
        self.last_features: Features | None = None
        self.rules = RuleBook()  # learned rules in force (bot.core.rules), given by set_rules
        self._rules_verdict: RulesVerdict = NOT_ASKED  # this bar's, for its decision record
        self._rule_hold_minutes: dict[str, float] = {}  # bracket -> time exit a rule shortened
        self.bias = Bias.NEUTRAL
        self._llm_bias: LlmBiasState | None = None  # given by the LLM service only
        self.entry_gate: EntryGate | None = None  # the evaluation harness's placebo only
        self.llm_gate = LlmGate(self.bar_length)  # llm.gate (bot.core.llm_gate); off by default
        # protections (bot.core.protections): the release calendar is given by the composition
        # root (live loop, backtester); % limits are of this equity plus closed trades' P&L
        self.releases = protections.NO_RELEASES
        self.starting_equity_cents = usd_to_cents(settings.broker.paper_starting_equity_usd)
        self.sentiment_book: SentimentBook | None = None  # given by the runtime or backtester
        self.last_sentiment: float | None = None
        self.shadows = ShadowBook(self.instrument, settings.broker.paper_slippage_ticks,
                                  settings.risk.max_hold_minutes)
        self.memory = MemoryBook(memory if memory is not None else MemoryIndex(),
                                 self.instrument, settings.broker.paper_slippage_ticks,
                                 settings.risk.max_hold_minutes, memory_open,
                                 commission_per_side_cents(settings, self.instrument))

    # --- setup ------------------------------------------------------------------------------

    def warm_up(self, bars: Iterable[Bar]) -> None:
        """Fill the indicator window with already-journaled bars (no decisions, no orders)."""
        for bar in self.live_features.warm_up(bars):
            self.last_bar = bar

    def reconcile(self, now: datetime) -> list[str]:
        """Make sure an open position has a working protective stop; journal any repair."""
        position = self.broker.position()
        if position is None:
            return []
        fallback = position.entry_price - position.side.sign * self.settings.risk.min_stop_points
        messages = []
        if self.broker.ensure_protective_stop(fallback, now):
            message = f"position {position.side.value} {position.contracts} had no working stop"
            self.journal.record_event(now, "stop_replaced", "incident", message, {})
            messages.append(message)
        self._journal_broker()
        self.journal.flush()
        return messages

    def apply_settings(self, settings: Settings) -> None:
        """Switch to reloaded settings (only hot-reloadable fields may differ)."""
        self.settings = settings

    # --- commands ---------------------------------------------------------------------------

    @property
    def llm_bias(self) -> LlmBiasState | None:
        """The LLM bias last given to the engine (it may have expired)."""
        return self._llm_bias

    def set_llm_bias(self, state: LlmBiasState | None) -> None:
        """Take a new LLM bias; it applies from the next decision until it expires."""
        self._llm_bias = state

    def use_sentiment(self, headlines: Iterable[HeadlineScore] = ()) -> SentimentBook:
        """Pass the rolling sentiment to the strategies from now on, starting with these."""
        if self.sentiment_book is None:
            self.sentiment_book = SentimentBook()
        self.sentiment_book.add(headlines)
        return self.sentiment_book

    def add_headlines(self, headlines: Iterable[HeadlineScore]) -> int:
        """Add scored headlines (between bars); only those received by a bar's time count."""
        if self.sentiment_book is None:
            return 0
        return self.sentiment_book.add(headlines)

    def sentiment_at(self, ts: datetime) -> float | None:
        """The rolling sentiment at ``ts`` (None when sentiment is not in use)."""
        if self.sentiment_book is None:
            return None
        return self.sentiment_book.at(ts, self.settings.news.half_life_minutes)
    def set_rules(self, book: RuleBook) -> None:
        """Take a new set of learned rules; they apply to entries from the next decision."""
        self.rules = book

    def restore_rule_hold(self, bracket_id: str, max_hold_minutes: float) -> None:
        """After a restart: the open bracket keeps the time exit a rule gave it at entry."""
        self._rule_hold_minutes = {bracket_id: max_hold_minutes}

    def halt(self, reason: str, now: datetime) -> None:
        """Block new entries (the open position keeps its bracket)."""
        self.risk_state = risk.halt(self.risk_state, reason)
        self.journal.record_event(now, "halt", "warning", f"entries halted: {reason}", {})
        self.journal.flush()

    def resume(self, now: datetime) -> None:
        """Allow entries again."""
        self.risk_state = risk.resume(self.risk_state)
        self.journal.record_event(now, "resume", "info", "entries resumed", {})
        self.journal.flush()

    def flatten(self, reason: ExitReason, now: datetime) -> str:
        """Cancel a pending entry and exit any position at the next bar's open."""
        position = self.broker.position()
        exit_working = any(o.role is OrderRole.EXIT and o.status is OrderStatus.WORKING
                           for o in self.broker.working_orders())
        self.broker.close_position(reason, now)
        self._journal_broker()
        if position is None:
            message = "flat: working entry orders (if any) cancelled"
        elif exit_working:  # a flatten sent earlier is still working: nothing new was sent
            message = (f"market exit already working for {position.side.value} "
                       f"{position.contracts}: no second exit sent")
        elif not self.broker.connected:
            message = (f"not connected to the broker: the exit for {position.side.value} "
                       f"{position.contracts} is sent on reconnect")
        else:
            message = f"market exit sent for {position.side.value} {position.contracts}"
        self.journal.record_event(now, "flatten", "warning", message, {"reason": reason.value})
        self.journal.flush()
        return message

    # --- the per-bar path -------------------------------------------------------------------

    @property
    def shadows_open(self) -> bool:
        """Whether an entry the LLM or memory skipped is still being followed."""
        return bool(self.shadows.open or self.memory.shadows.open)

    def follow_shadows(self, bar: Bar) -> None:
        """Advance the skipped entries' shadow brackets over ``bar``; journal their exits.

        ``on_bar`` does it first thing; a backtest skipping idle bars calls it for them.
        """
        now = bar.ts + self.bar_length
        for shadow in self.shadows.on_bar(bar, self.bar_length) if self.shadows.open else ():
            self.journal.record_event(now, "llm_shadow_exit", "info", f"skipped {shadow.side} "
                                      f"would have made ${shadow.pnl_cents / 100:.2f}",
                                      shadow.detail())
        book = self.memory.shadows
        for shadow in book.on_bar(bar, self.bar_length) if book.open else ():
            self.journal.record_event(now, "memory_shadow_exit", "info", f"refused by memory: "
                                      f"{shadow.side} would have made "
                                      f"${shadow.pnl_cents / 100:.2f}", shadow.detail())
            self._learn(self.memory.learn_shadow(shadow), shadow.exit_ts)

    def on_bar(self, bar: Bar, features: Features | None = None) -> DecisionRecord:
        """Execute, evaluate and journal one bar; return the decision.

        A backtest may pass the bar's ``features`` precomputed for the whole run (then the
        rolling window is not kept); the live loop leaves it out.
        """
        now = bar.ts + self.bar_length
        self.risk_state = protections.begin_day(self.risk_state, self.clock.trading_day(bar.ts),
                                                self.clock, self.starting_equity_cents)
        self.broker.on_bar(bar)
        self._journal_broker()
        if self.settings.protections.marks_open_pnl:
            self.risk_state = protections.mark(self.risk_state, self._open_pnl_cents(bar.close),
                                               self.settings.protections)
        self.follow_shadows(bar)
        if features is None:
            self.live_features.append(bar)
            features = self.live_features.features()
        self.last_bar = bar
        self.last_features = features
        regime = assess_regime(
            features, self.settings.regime, self.clock,
            self.settings.risk.no_entry_before_close_minutes,
        )
        sentiment = self.sentiment_at(now)
        self.last_sentiment = sentiment
        signal = combine(
            run_strategies(features, self.settings.strategies, sentiment),
            self.settings.strategies.weights,
        )
        setup, memory = self._consult_memory(features, regime, signal, now)
        memory_adjustment = memory.adjustment
        base_confidence = min(1.0, max(0.0, signal.confidence + memory_adjustment))
        influence = llm_influence(self._llm_bias, signal.action, now, self.settings.llm)
        llm_adjustment = influence.adjustment
        confidence = min(1.0, max(0.0, base_confidence + llm_adjustment))
        self.bias = influence.bias
        labels = decision_labels(regime, self.bias)
        verdict, rule, reasons, action, bracket_id = self._decide(
            bar, now, features, regime, signal, (base_confidence, confidence), labels, influence,
            (setup, memory),
        )
        self._journal_broker()
        record = DecisionRecord(
            llm_call_id=self._llm_call_in_force(now), rules_json=self._take_rules_json(),
            ts=now, symbol=self.instrument.symbol, close=bar.close,
            features_json=features_json(features, sentiment) if self.journal_inputs else "{}",
            regime_json=regime_json(regime) if self.journal_inputs else "{}",
            votes_json=votes_json(signal) if self.journal_inputs else "[]",
            signal_action=signal.action,
            signal_confidence=signal.confidence, memory_adjustment=memory_adjustment,
            llm_adjustment=llm_adjustment, final_confidence=confidence, verdict=verdict,
            risk_rule=rule, reasons=reasons, action_taken=action, bracket_id=bracket_id,
            labels=labels, memory_json=memory.to_json() if self.journal_inputs else "{}",
        )
        self.journal.record_decision(record)
        if bracket_id is not None and bracket_id in self.memory.open:
            self.journal.record_memory_setup(self.instrument.symbol, self.memory.open[bracket_id])
        if (shadow_row := self.memory.take_new_shadow()) is not None:  # a refusal memory follows
            self.journal.record_memory_setup(self.instrument.symbol, shadow_row)
        self.journal.record_bar(self.instrument.symbol, bar)
        self.journal.flush()
        return record

    def _consult_memory(
        self, features: Features, regime: Regime, signal: Signal, now: datetime
    ) -> tuple[MemorySetup | None, MemoryVerdict]:
        """The setup of a BUY/SELL that could become an entry (tradable, flat, no entry working)
        and, when ``memory.enabled``, memory's verdict on it."""
        if (signal.action is Action.HOLD or not regime.tradable
                or self.broker.position() is not None or self.broker.has_pending_entry()):
            return None, NOT_CONSULTED
        setup = self.memory.setup(features, regime, signal.action, now, self._llm_bias)
        if not self.settings.memory.enabled:
            return setup, NOT_CONSULTED
        return setup, self.memory.index.query(setup, now, self.settings.memory,
                                              neighbours=self.journal_inputs)

    def _decide(
        self, bar: Bar, now: datetime, features: Features, regime: Regime, signal: Signal,
        confidences: tuple[float, float], labels: dict[str, str], influence: LlmInfluence,
        memory: tuple[MemorySetup | None, MemoryVerdict],
    ) -> tuple[Verdict, str | None, tuple[str, ...], str, str | None]:
        base_confidence, confidence = confidences
        setup, memory_verdict = memory
        position = self.broker.position()
        if position is not None and (managed := self._manage(position, bar, now)) is not None:
            return managed
        if signal.action is Action.HOLD:
            if (held := self._held_candidate(bar, now, features, regime, labels)) is not None:
                return held  # the LLM gate's held candidate, decided on this bar
            return Verdict.HOLD, None, signal.reasons or ("no strategy fired",), "none", None
        request = EntryRequest(
            action=signal.action, confidence=confidence, close=bar.close,
            atr_points=features.atr_points, now=now, minutes_to_close=regime.minutes_to_close,
            regime_tradable=regime.tradable, regime_reasons=regime.reasons, position=position,
            entry_pending=self.broker.has_pending_entry(), sizing_confidence=base_confidence,
            bar_seconds=self.settings.feed.bar_seconds,
        )
        verdict = self.plan_entry(request)
        llm_note = (influence.note,) if influence.note else ()
        notes = (*((memory_verdict.reason,) if memory_verdict.consulted else ()), *llm_note)
        if influence.adjustment or influence.veto:
            self._attribute(request, base_confidence, verdict, influence.veto, labels, now)
        if isinstance(verdict, OrderPlan) and self.rules.rules:  # learned rules (bot.core.rules)
            verdict = self._apply_rules(verdict, labels, confidence, now)
        if not isinstance(verdict, OrderPlan):
            return (Verdict.REJECT, str(verdict.rule), (*signal.reasons, *notes,
                    verdict.reason), "none", None)
        if not memory_verdict.allowed:
            self.memory.refuse(verdict, now, setup,  # follow it as a shadow, learn its outcome
                               f"shadow:{bracket_id_for(self.instrument.symbol, now)}")
            return Verdict.REJECT, MEMORY_RULE, (*signal.reasons, *notes), "none", None
        if influence.veto:
            return Verdict.REJECT, "llm_consensus", (*signal.reasons, *notes), "none", None
        gate = self.llm_gate.check(verdict.side, signal.confidence, now, self.settings.llm,
                                   request)
        notes = (*notes, gate.note) if gate.note else notes
        if gate.step is not GateStep.ENTER:
            return Verdict.REJECT, gate.rule, (*signal.reasons, *notes), "none", None
        if self.entry_gate is not None and not self.entry_gate.allows(verdict.side, now):
            return Verdict.REJECT, self.entry_gate.name, (*signal.reasons, *notes), "none", None
        bracket_id, action = self._place(verdict, now, labels, setup)
        return Verdict.ENTER, None, (*signal.reasons, *notes, verdict.reason), action, bracket_id

    def _place(self, plan: OrderPlan, now: datetime, labels: dict[str, str],
               setup: MemorySetup | None) -> tuple[str, str]:
        """Send the bracket and note the entry; return its bracket id and the action text."""
        bracket_id = bracket_id_for(self.instrument.symbol, now)
        self.broker.place_bracket(plan, bracket_id, now)
        self.risk_state = risk.record_entry(self.risk_state)
        self.entry_labels[bracket_id] = labels
        self.llm_gate.drop()
        if setup is not None:
            self.memory.entered(bracket_id, setup, plan)
        return bracket_id, f"bracket:{plan.side.value}:{plan.contracts}"

    def _held_candidate(
        self, bar: Bar, now: datetime, features: Features, regime: Regime,
        labels: dict[str, str],
    ) -> tuple[Verdict, str | None, tuple[str, ...], str, str | None] | None:
        """The LLM gate's held candidate once decided: re-planned at this bar, then entered
        (the rules and memory already passed it on its own bar) or refused."""
        if self.llm_gate.pending is None:
            return None
        if self.broker.position() is not None or self.broker.has_pending_entry():
            self.llm_gate.drop()  # not flat any more: the candidate lapsed
        resolved = self.llm_gate.held(now, self.settings.llm)
        if resolved is None:
            return None
        gate, request = resolved
        if gate.step is not GateStep.ENTER:
            return Verdict.REJECT, gate.rule, (gate.note,), "none", None
        plan = self.plan_entry(replace(
            request, close=bar.close, atr_points=features.atr_points, now=now,
            minutes_to_close=regime.minutes_to_close, regime_tradable=regime.tradable,
            regime_reasons=regime.reasons, position=self.broker.position(),
            entry_pending=self.broker.has_pending_entry()))
        if not isinstance(plan, OrderPlan):
            return Verdict.REJECT, str(plan.rule), (gate.note, plan.reason), "none", None
        bracket_id, action = self._place(plan, now, labels, None)
        return Verdict.ENTER, None, (gate.note, plan.reason), action, bracket_id

    def _manage(
        self, position: Position, bar: Bar, now: datetime
    ) -> tuple[Verdict, str | None, tuple[str, ...], str, str | None] | None:
        """Risk's exits and trailing stop, then the protections' exit before a release."""
        instruction = risk.manage_position(
            position, bar.close, now, self.position_risk(position), self.instrument
        )
        if instruction is not None and instruction.kind is InstructionKind.EXIT:
            reason = instruction.exit_reason or ExitReason.FLATTEN
            self.broker.close_position(reason, now)
            return Verdict.EXIT, None, (instruction.reason,), f"exit:{reason.value}", None
        if instruction is not None and instruction.new_stop_price is not None:
            self.broker.move_stop(instruction.new_stop_price, now, ExitReason.TRAILING_STOP)
            return Verdict.MANAGE, None, (instruction.reason,), "move_stop", None
        release = protections.flatten_due(now, self.settings.protections, self.releases)
        if release is None:
            return None
        self.broker.close_position(ExitReason.RELEASE_FLATTEN, now)
        return (Verdict.EXIT, protections.ProtectionRule.BLACKOUT,
                (f"{release.event} at {release.at:%Y-%m-%d %H:%M} UTC: flattened before it",),
                f"exit:{ExitReason.RELEASE_FLATTEN.value}", None)

    def _attribute(
        self, request: EntryRequest, base_confidence: float, verdict: OrderPlan | Rejection,
        veto: bool, labels: dict[str, str], now: datetime,
    ) -> None:
        """Journal the verdict without the LLM; follow a bracket it skipped as a shadow."""
        baseline = self.plan_entry(replace(request, confidence=base_confidence))
        enters = isinstance(baseline, OrderPlan)
        labels["verdict_without_llm"] = "enter" if enters else f"reject:{baseline.rule}"
        if isinstance(baseline, OrderPlan) and (veto or not isinstance(verdict, OrderPlan)):
            self.shadows.add(baseline, now)

    def plan_entry(self, request: EntryRequest) -> OrderPlan | Rejection:
        """The risk manager's verdict with the protections: limits lowered to their % of
        equity, then the profit lock, drawdown pause, release blackout and exposure cap."""
        prot, state = self.settings.protections, self.risk_state
        cfg = protections.effective_risk(self.settings.risk, prot, state.day_start_equity_cents)
        verdict = risk.plan_entry(request, state, cfg, self.instrument)
        if not isinstance(verdict, OrderPlan):
            return verdict
        block = protections.entry_block(state, prot, request.now, self.releases)
        if block is not None:
            return block
        return protections.cap_exposure(verdict, prot, state.day_start_equity_cents,
                                        self.instrument)

    def _open_pnl_cents(self, close: float) -> int:
        """The open position at ``close``, its entry commission paid (0 when flat)."""
        position = self.broker.position()
        if position is None:
            return 0
        return (self.instrument.pnl_cents(position.side, position.entry_price, close,
                                          position.contracts)
                - position.entry_commission_cents)

    # --- learned rules (bot.core.rules): refuse an entry or shorten its time exit -------------

    def _apply_rules(
        self, plan: OrderPlan, labels: dict[str, str], confidence: float, now: datetime
    ) -> OrderPlan | Rejection:
        """The learned-rules guard on an entry risk approved; stop, target and size untouched."""
        verdict = evaluate_entry(self.rules, plan.side, labels, confidence, now)
        self._rules_verdict = verdict
        if not verdict.allowed:
            return Rejection(LEARNED_RULE, "; ".join(verdict.reasons))
        self._rule_hold_minutes = {}  # flat with nothing working: no other bracket needs one
        hold = verdict.max_hold_minutes
        if hold is not None and hold < self.settings.risk.max_hold_minutes:
            self._rule_hold_minutes[bracket_id_for(self.instrument.symbol, now)] = hold
        if not verdict.reasons:
            return plan
        return replace(plan, reason=f"{plan.reason}; {'; '.join(verdict.reasons)}")

    def position_risk(self, position: Position) -> RiskConfig:
        """The risk settings managing ``position``: a rule may have shortened its time exit."""
        hold = self._rule_hold_minutes.get(position.bracket_id)
        if hold is None or hold >= self.settings.risk.max_hold_minutes:
            return self.settings.risk  # a rule only ever shortens the configured hold
        return self.settings.risk.model_copy(update={"max_hold_minutes": hold})

    def _take_rules_json(self) -> str:
        verdict, self._rules_verdict = self._rules_verdict, NOT_ASKED
        return verdict.to_json()

    def _llm_call_in_force(self, now: datetime) -> int | None:
        """The ``llm_calls`` id of the bias in force at ``now`` (the trade log joins on it)."""
        state = self._llm_bias
        if state is None or now >= state.expires_at or self.settings.llm.mode == "disabled":
            return None
        return state.call_id

    def journal_broker_updates(self) -> None:
        """Journal what the broker did since last asked (the live loop's fault path)."""
        self._journal_broker()

    def _journal_broker(self) -> None:
        updates = self.broker.drain_updates()
        if not (updates.orders or updates.fills or updates.trades or updates.position_changed):
            return  # most bars: the broker did nothing, nothing to journal
        for trade in updates.trades:
            self.risk_state = risk.record_trade(self.risk_state, trade)
        self.journal.record_broker_updates(
            updates, self.instrument.symbol, self.broker.position(), self.entry_labels
        )
        for trade in updates.trades:
            self.entry_labels.pop(trade.bracket_id, None)
            if (alarm := bad_fill(trade, self.settings.risk)) is not None:
                self.journal.record_event(trade.exit_ts, BAD_FILL, "incident", *alarm)
            learned = self.memory.learn(trade)
            if learned is not None:
                outcome, scaler = learned
                self.journal.record_memory_outcome(trade.bracket_id, outcome)
                if scaler is not None:
                    self.journal.record_memory_scaler(scaler, trade.exit_ts)

    def _learn(self, learned: tuple[MemoryRow, ScalerSnapshot | None] | None, at: datetime
               ) -> None:
        """Journal the outcome of a refused entry's shadow that joined memory."""
        if learned is None:
            return
        row, scaler = learned
        if row.outcome is not None:
            self.journal.record_memory_outcome(row.bracket_id, row.outcome)
        if scaler is not None:
            self.journal.record_memory_scaler(scaler, at)

"""The engine's memory: the index of closed setups, the setups of open brackets, refusals.

Kept per bracket from the decision that opened it (like the entry labels), a setup joins the
index only when the engine learns its bracket closed, so a decision sees only trades closed
before it — the same order live and in backtests. An entry memory refused is followed as a
shadow bracket (``ShadowBook``) to where it would have exited, so its value can be judged; once
the shadow closed, its setup joins the index too (flagged ``shadow``, R net of a round trip's
commission), so a refusing memory keeps learning, and no sooner than a trade would have.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from bot.core.llm_attribution import ShadowBook, ShadowBracket, ShadowExit
from bot.core.llm_bias import LlmBiasState
from bot.core.memory import MemoryIndex
from bot.core.memory_features import make_setup
from shared.config.settings import Settings
from shared.domain.instruments import Instrument, usd_to_cents
from shared.domain.memory import (
    MemoryOutcome,
    MemoryRow,
    MemorySetup,
    ScalerSnapshot,
    ShadowPlan,
)
from shared.domain.models import Action, Features, OrderPlan, Regime, Side, TradeRecord


def commission_per_side_cents(settings: Settings, instrument: Instrument) -> int:
    """The commission a shadow's outcome is charged per contract per side (as a paper fill)."""
    usd = settings.instrument.commission_per_side_usd
    return usd_to_cents(instrument.default_commission_per_side_usd if usd is None else usd)


class MemoryBook:
    """Keeps the setups of submitted brackets, feeds the index each one once it closed, and
    follows the entries memory refused as shadows (the engine asks ``index`` for verdicts)."""

    def __init__(
        self, index: MemoryIndex, instrument: Instrument, slippage_ticks: int,
        max_hold_minutes: float, open_rows: dict[str, MemoryRow] | None = None,
        commission_per_side_cents: int = 0,
    ) -> None:
        self.index = index
        self.instrument = instrument
        self.open: dict[str, MemoryRow] = dict(open_rows or {})
        self.shadows = ShadowBook(instrument, slippage_ticks, max_hold_minutes)
        self.refused = 0
        self.commission_per_side_cents = commission_per_side_cents
        self._shadow_setups: dict[datetime, MemoryRow] = {}  # by decision time, while open
        self.new_shadow: MemoryRow | None = None

    def setup(
        self, features: Features, regime: Regime, action: Action, now: datetime,
        llm_state: LlmBiasState | None,
    ) -> MemorySetup:
        """The setup of a BUY/SELL decided at ``now``."""
        return make_setup(features, regime, Side.from_action(action), now, llm_state)

    def entered(self, bracket_id: str, setup: MemorySetup, plan: OrderPlan) -> MemoryRow:
        """Keep the setup of a submitted bracket until it closes; return its row."""
        row = MemoryRow(bracket_id, setup, self._risk_cents(plan))
        self.open[bracket_id] = row
        return row

    def _risk_cents(self, plan: OrderPlan) -> int:
        instrument = self.instrument
        return (instrument.points_to_ticks(plan.stop_points) * instrument.tick_value_cents
                * plan.contracts)

    def refuse(self, plan: OrderPlan, now: datetime, setup: MemorySetup | None = None,
               shadow_id: str = "") -> None:
        """Count an entry memory refused; follow its bracket as a shadow unless one is open,
        keeping its ``setup`` (row ``shadow_id``) to learn from once the shadow closes.

        Like a real position, an open shadow blocks the next one (no pyramiding), so the shadows
        approximate the trades memory actually prevented rather than every refused signal.
        """
        self.refused += 1
        if self.shadows.open:
            return
        self.shadows.add(plan, now)
        if setup is not None:
            shadow_plan = ShadowPlan(plan.stop_price, plan.target_price, plan.contracts)
            row = MemoryRow(shadow_id, setup, self._risk_cents(plan), shadow_plan=shadow_plan)
            self._shadow_setups[now] = row
            self.new_shadow = row

    def take_new_shadow(self) -> MemoryRow | None:
        """The shadow setup the last decision started following, once (to journal it)."""
        row, self.new_shadow = self.new_shadow, None
        return row

    def resume_shadow(self, row: MemoryRow) -> None:
        """After a restart: follow a stored shadow again (its bars are then replayed)."""
        plan = row.shadow_plan
        if plan is None or row.outcome is not None:
            raise ValueError(f"memory row {row.bracket_id} is not an open shadow")
        setup = row.setup
        self.shadows.open.append(ShadowBracket(setup.decision_ts, setup.side, plan.contracts,
                                               plan.stop_price, plan.target_price))
        self._shadow_setups[setup.decision_ts] = row

    def learn_shadow(self, shadow: ShadowExit) -> tuple[MemoryRow, ScalerSnapshot | None] | None:
        """Add a closed shadow's setup (its net outcome) to the index; None: none was kept."""
        row = self._shadow_setups.pop(shadow.decision_ts, None)
        if row is None:
            return None
        net_cents = shadow.pnl_cents - 2 * self.commission_per_side_cents * shadow.contracts
        r_multiple = net_cents / row.risk_cents if row.risk_cents > 0 else 0.0
        closed = replace(row, outcome=MemoryOutcome(net_cents, r_multiple, shadow.exit_reason,
                                                    shadow.exit_ts))
        return closed, self.index.add(closed)

    def learn(self, trade: TradeRecord) -> tuple[MemoryOutcome, ScalerSnapshot | None] | None:
        """Add a closed bracket's setup and outcome to the index (None: no setup was kept)."""
        row = self.open.pop(trade.bracket_id, None)
        if row is None:
            return None
        r_multiple = trade.pnl_net_cents / row.risk_cents if row.risk_cents > 0 else 0.0
        outcome = MemoryOutcome(trade.pnl_net_cents, r_multiple, trade.exit_reason.value,
                                trade.exit_ts)
        return outcome, self.index.add(replace(row, outcome=outcome))

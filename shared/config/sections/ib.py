"""The ``ib`` section: the IB Gateway connection, contract, pacing and daily restart window."""

from __future__ import annotations

from pydantic import Field, model_validator

from shared.config.ib_gateway import RestartWindowConfig
from shared.config.sections.base import Section


class IbConfig(Section):
    """IB Gateway / TWS connection (used in ib_paper / ib_live)."""

    host: str = "127.0.0.1"
    port: int = Field(4002, ge=1, le=65535, description="4002 = IB Gateway paper")
    client_id: int = Field(17, ge=0)
    account: str = Field("", description="Account code; empty = the only one")
    exchange: str = "CME"
    connect_timeout_s: float = Field(10.0, gt=0)
    roll_days_before_expiry: int = Field(
        8, ge=0, le=60, description="Trade the next quarterly this many days before expiry"
    )
    reconnect_initial_s: float = Field(2.0, gt=0, description="First reconnect backoff")
    reconnect_max_s: float = Field(60.0, gt=0, description="Backoff doubles up to this")
    bar_timeout_s: float = Field(
        30.0, gt=0, description="No real-time bar for this long: cancel and re-request"
    )
    reject_pause_s: float = Field(
        300.0, ge=0, description="After IB rejects an entry, send no new entry for this long"
    )
    commission_wait_s: float = Field(
        2.0, gt=0, description="Wait this long for IB's commission report before estimating"
    )
    restart_window: RestartWindowConfig = Field(
        default_factory=RestartWindowConfig, description="IB Gateway's daily restart: "
        "disconnects inside it are expected events; no new entry around it")
    login_alert_after_minutes: float = Field(
        10.0, gt=0, description="Reconnects failing this long outside the restart window: "
        "ib_login_needed alert (IB Gateway waits for a login or 2FA)")

    @model_validator(mode="after")
    def _backoff_order(self) -> IbConfig:
        if self.reconnect_initial_s > self.reconnect_max_s:
            raise ValueError("reconnect_initial_s must not exceed reconnect_max_s")
        return self

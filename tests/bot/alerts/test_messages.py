"""Journal rows to alert texts, masked URLs and redacted errors, the alerts config section."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.alerts.channels import Redactor, command_chats, mask_url
from bot.alerts.messages import event_alert, exit_alert, llm_call_alert, risk_alert
from dashboard import config_editor
from shared.config.settings import Settings, parse_config_text, settings_to_yaml
from shared.domain.alerts import AlertKind, AlertLevel, Channel, default_levels
from shared.domain.errors import ConfigError
from shared.domain.models import ExitReason, Side, TradeRecord
from shared.persistence.alert_feed_store import EventRow, LlmCallRow, RiskRefusalRow

TS = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)
TOKEN = "123456789:ABCdefGHIjklMNOpqr"


def test_an_exit_alert_carries_prices_reason_and_net_pnl_in_dollars():
    trade = TradeRecord("MES-20250303T143930", "MES", Side.LONG, 2, TS, 5000.25, TS, 5012.75,
                        ExitReason.TARGET, 12500, 248, 12252, {})
    alert = exit_alert(17, trade)
    assert alert.kind == AlertKind.EXIT and alert.key == "exit:17"
    assert alert.headline == "EXIT LONG 2 MES @ 5012.75 (target) · P&L +$122.52"
    assert "entry 5000.25" in alert.text and "commission $2.48" in alert.text


def test_times_in_an_alert_are_named_utc_in_words():
    trade = TradeRecord("MES-x", "MES", Side.SHORT, 1, TS, 5000.0, TS, 4990.0,
                        ExitReason.TARGET, 5000, 124, 4876, {})
    text = exit_alert(3, trade).text
    assert "2025-03-03 15:00:00 UTC" in text and "15:00:00Z" not in text


@pytest.mark.parametrize(("kind", "severity", "expected"), [
    ("flatten", "warning", AlertKind.KILL_SWITCH),
    ("halt", "warning", AlertKind.HALT),
    ("ib_disconnected", "incident", AlertKind.BROKER_DISCONNECTED),
    ("ib_connected", "info", AlertKind.BROKER_RECONNECTED),
    ("stop_replaced", "incident", AlertKind.RECONCILIATION),
    ("config_reloaded", "info", AlertKind.CONFIG_APPLIED),
    ("journal_write_failed", "incident", AlertKind.JOURNAL_FAILURE),
    ("order_rejected", "incident", AlertKind.INCIDENT),
    ("llm_trigger", "info", None),
    ("bad_bar", "warning", None),
    ("bad_fill", "incident", AlertKind.INCIDENT),
    ("level_shift", "warning", AlertKind.INCIDENT),
    ("ib_login_needed", "incident", AlertKind.IB_LOGIN_NEEDED),
    ("ib_restart_disconnect", "info", None),  # the gateway's nightly restart: expected
    ("ib_restart_reconnected", "info", None),
])
def test_events_map_to_alert_kinds(kind, severity, expected):
    alert = event_alert(EventRow(5, TS, kind, severity, "what happened", {}))
    assert (alert.kind if alert else None) == expected
    if alert:
        assert alert.key == "event:5" and "what happened" in alert.text


def test_a_risk_refusal_is_keyed_once_per_rule_and_trading_day():
    first = risk_alert(RiskRefusalRow(1, TS, "daily_loss_cap", ("daily loss $300.00 reached",)))
    later = risk_alert(RiskRefusalRow(9, TS.replace(hour=20), "daily_loss_cap", ()))
    assert first.key == later.key == "risk:daily_loss_cap:2025-03-03"


def test_llm_calls_alert_on_refusal_and_low_confidence_only():
    def call(status, confidence):
        return LlmCallRow(3, TS, "manual", status, "daily call quota reached (10 of 10)",
                          "bullish", confidence, "buy", True)
    assert llm_call_alert(call("refused", None), 0.5).kind == AlertKind.LLM_QUOTA_EXHAUSTED
    assert llm_call_alert(call("ok", 0.3), 0.5).kind == AlertKind.LLM_LOW_CONFIDENCE
    assert llm_call_alert(call("ok", 0.8), 0.5) is None
    assert llm_call_alert(call("timeout", None), 0.5) is None


def test_urls_are_shown_masked_and_secrets_redacted_from_error_texts():
    url = f"tgram://{TOKEN}/-100200300"
    assert TOKEN not in mask_url(url) and mask_url(url).startswith("tgram://12***")
    error = f"HTTPSConnectionPool: Max retries exceeded with url: /bot{TOKEN}/sendMessage"
    assert TOKEN not in Redactor(url)(error)
    mail = "mailtos://me:hunter2pw@smtp.example.com?to=a@example.com"
    assert "hunter2pw" not in mask_url(mail) and "smtp.example.com" in mask_url(mail)
    assert "hunter2pw" not in Redactor(mail)("login failed for me:hunter2pw")


def test_command_chats_come_from_the_environment():
    assert command_chats({"ALERT_TELEGRAM_COMMAND_CHATS": "42, -1007"}) == (
        frozenset({42, -1007}), "")
    assert command_chats({})[0] == frozenset()
    assert "not a chat id" in command_chats({"ALERT_TELEGRAM_COMMAND_CHATS": "42,me"})[1]


def test_levels_accept_yaml_on_off_and_keep_defaults_for_kinds_left_out():
    settings = parse_config_text("alerts:\n  telegram: {entry: off, exit: on, halt: silent}\n")
    levels = settings.alerts.telegram
    assert levels[AlertKind.ENTRY] is AlertLevel.OFF and levels[AlertKind.EXIT] is AlertLevel.ON
    assert levels[AlertKind.HALT] is AlertLevel.SILENT
    assert levels[AlertKind.DAILY_SUMMARY] == default_levels(Channel.TELEGRAM)[
        AlertKind.DAILY_SUMMARY]
    assert parse_config_text(settings_to_yaml(settings)) == settings  # round trip


@pytest.mark.parametrize(("text", "where"), [
    ("alerts: {slack: {entri: on}}", "alerts.slack.entri"),
    ("alerts: {email: {exit: loud}}", "alerts.email.exit"),
    ("alerts: {per_minute: {telegram: 0}}", "alerts.per_minute"),
])
def test_bad_alert_settings_are_refused_naming_the_field(text, where):
    with pytest.raises(ConfigError, match=where.replace(".", r"\.")):
        parse_config_text(text)


def test_the_config_editor_edits_a_channel_s_levels_as_yaml():
    specs = {s.name: s for s in config_editor.section_fields(Settings(), "alerts")}
    telegram = specs["telegram"]
    assert telegram.kind == config_editor.FieldKind.YAML and telegram.hot
    assert "entry: 'on'" in telegram.value
    edited = telegram.value.replace("entry: 'on'", "entry: off")
    values = {"telegram": config_editor.parse_form_value(telegram, edited)}
    candidate, errors = config_editor.validate_config(
        config_editor.replace_section(Settings(), "alerts", values))
    assert errors == [] and candidate.alerts.telegram[AlertKind.ENTRY] is AlertLevel.OFF

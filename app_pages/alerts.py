"""Alerts: the alerter process, channel status (URLs masked), deliveries, a test message."""

from __future__ import annotations

import streamlit as st

from dashboard import alert_views, clicks, frame, tables, zones
from shared.domain.alerts import Channel
from shared.persistence import alerts_store
from shared.supervisor import process_info

st.title("Alerts")
zone = frame.display_zone()
info = process_info("alerts")
st.metric("Alerter process", info.state, help=info.description)
st.caption("Channels come from the alerter's environment (ALERT_TELEGRAM_URL, ALERT_SLACK_URL, "
           "ALERT_EMAIL_URL); levels per event kind from the config's alerts section.")

with frame.reader() as conn:
    statuses = alerts_store.channel_statuses(conn) if conn is not None else []
if statuses:
    st.dataframe(tables.readable(zones.in_zone(alert_views.channels_frame(statuses), zone)),
                 hide_index=True,
                 column_config=tables.ALERT_CHANNELS, column_order=tables.ALERT_CHANNEL_ORDER)
    st.caption(f"Times in {zones.zone_label(zone)}")
else:
    st.info("The alerter has not reported yet: start it with `make run` "
            "(`python -m bot alerts`).")

st.subheader("Send a test message")
configured = [s.channel for s in statuses if s.configured] or [c.value for c in Channel]
chosen = st.multiselect("Channels", configured, default=configured)
st.button("Send test message", disabled=not chosen, on_click=clicks.arm, args=("test_alert",))
if clicks.fired("test_alert") and chosen:
    with frame.writer() as conn:
        count = alert_views.request_test_messages(conn, chosen, frame.utc_now())
    st.success(f"{count} test message(s) queued: the alerter sends them on its next poll.")


def _shown(deliveries):
    """Times in the chosen zone, the ones inside the messages' text included."""
    return tables.readable(zones.texts_in_zone(zones.in_zone(deliveries, zone), zone,
                                               ("headline", "error")))


@st.fragment(run_every=3)
def deliveries_panel() -> None:
    with frame.reader() as conn:
        if conn is None:
            frame.no_database_notice()
            return
        rows = alerts_store.recent_deliveries(conn, 100)
    st.subheader("Last deliveries")
    if not rows:
        st.caption("No alert raised yet.")
        return
    st.caption(f"Times in {zones.zone_label(zone)}")
    st.dataframe(_shown(alert_views.deliveries_frame(rows)), hide_index=True,
                 column_config=tables.ALERT_DELIVERIES, column_order=tables.ALERT_DELIVERY_ORDER)
    st.subheader("Failures")
    failed = alert_views.failures(rows)
    if failed:
        st.dataframe(_shown(alert_views.deliveries_frame(failed)), hide_index=True,
                     column_config=tables.ALERT_DELIVERIES,
                     column_order=tables.ALERT_DELIVERY_ORDER)
    else:
        st.caption("None among the last 100 deliveries.")


deliveries_panel()

st.subheader("Levels")
settings, _ = frame.current_settings()
st.dataframe(alert_views.levels_frame(settings), hide_index=True, height="content")
st.caption("off: not sent · silent: sent without a sound (Telegram) · on. Edit them on the "
           "Config page, section alerts.")

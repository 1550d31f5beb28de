"""What is true about an open position while the bot is stopped, said plainly.

With the paper broker the bracket lives inside the bot: while it is down nothing watches the
stop or the target. With Interactive Brokers the stop and target are resting orders at the
broker and keep working; only the bot's own management (trailing, time exit) pauses. Used by
Bot control before a stop and by the Overview while the bot is down. No streamlit here.
"""

from __future__ import annotations

from shared.persistence.ops_store import Heartbeat


def open_position(heartbeat: Heartbeat | None) -> str | None:
    """``long 2 MES @ 5012.25`` for the heartbeat's open position, or None when flat."""
    if heartbeat is None or not heartbeat.position_side or heartbeat.position_contracts <= 0:
        return None
    entry = (f" @ {heartbeat.position_entry_price:,.2f}"
             if heartbeat.position_entry_price is not None else "")
    return f"{heartbeat.position_side} {heartbeat.position_contracts} {heartbeat.symbol}{entry}"


def protection_while_down(mode: str) -> str:
    """What keeps protecting an open position while the bot process is not running."""
    if mode == "paper":
        return ("Paper broker: the stop and the target live inside the bot, so while it is "
                "stopped nothing protects the position: a move through the stop is not acted "
                "on. On restart the bot restores the position and its bracket from the "
                "journal and checks them from the next bar on.")
    return ("Interactive Brokers holds the stop and the target as resting orders (one cancels "
            "the other): they keep working while the bot is stopped. The trailing stop, the "
            "time exit and the daily loss cap wait until the bot runs again.")


def stop_warning(heartbeat: Heartbeat | None) -> str | None:
    """The confirmation text for stopping the bot while it holds a position (None when flat)."""
    position = open_position(heartbeat)
    if position is None:
        return None
    return (f"The bot holds a position: {position}. Stopping it leaves the position open. "
            f"{protection_while_down(heartbeat.mode)} To exit first, use Flatten all below.")


def stopped_line(heartbeat: Heartbeat, liveness: str, zone_time: str) -> str:
    """The Overview's line while the bot is down: no entries, figures as of the last beat."""
    what = f"The bot is {liveness}: no new entries"
    if open_position(heartbeat) is not None:
        what += ("; open P&L and levels are as of its last heartbeat at "
                 f"{zone_time}, not live")
    else:
        what += f"; figures as of its last heartbeat at {zone_time}"
    return what + "."


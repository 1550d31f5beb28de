"""Talk to supervisord over its unix socket (XML-RPC): the bot's process state, start, stop.

Every call degrades to a value instead of raising when supervisord is down or the socket is
missing, because the dashboard must keep rendering whatever the process state is.
"""

from __future__ import annotations

import logging
import os
import xmlrpc.client
from dataclasses import dataclass
from pathlib import Path

from supervisor.xmlrpc import SupervisorTransport

logger = logging.getLogger(__name__)

DEFAULT_SOCKET = Path("var/run/supervisor.sock")
ALREADY_STARTED = 60
NOT_RUNNING = 70


@dataclass(frozen=True, slots=True)
class ProcessInfo:
    """A supervised program's state as supervisord reports it (UNKNOWN when unreachable)."""

    name: str
    state: str
    description: str
    pid: int
    exit_status: int = 0  # of the last exit (-1: killed by a signal)
    started_at: float = 0.0  # epoch seconds supervisord started the current process (0: never)


def supervisor_url() -> str:
    """The XML-RPC URL: env ``SUPERVISOR_URL`` or the project's own unix socket."""
    return os.environ.get("SUPERVISOR_URL") or f"unix://{DEFAULT_SOCKET.resolve()}"


def _proxy(url: str | None = None) -> xmlrpc.client.ServerProxy:
    transport = SupervisorTransport(None, None, serverurl=url or supervisor_url())
    return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)


def process_info(name: str, url: str | None = None) -> ProcessInfo:
    """Return the state of program ``name`` (``UNKNOWN`` with the reason if unreachable)."""
    try:
        info = _proxy(url).supervisor.getProcessInfo(name)
    except (OSError, xmlrpc.client.Error) as exc:
        return ProcessInfo(name, "UNKNOWN", f"supervisor unreachable: {exc}", 0)
    return ProcessInfo(name, info["statename"], info["description"], int(info["pid"]),
                       int(info.get("exitstatus") or 0), float(info.get("start") or 0))


def start_process(name: str, wait: bool = False, url: str | None = None) -> str:
    """Start program ``name``; return a message for the user."""
    try:
        _proxy(url).supervisor.startProcess(name, wait)
    except xmlrpc.client.Fault as fault:
        if fault.faultCode == ALREADY_STARTED:
            return f"{name} is already running"
        return f"could not start {name}: {fault.faultString}"
    except (OSError, xmlrpc.client.Error) as exc:
        return f"supervisor unreachable: {exc}"
    return f"{name} starting"


def stop_process(name: str, wait: bool = True, url: str | None = None) -> str:
    """Stop program ``name`` gracefully (SIGTERM, then supervisord's stopwaitsecs)."""
    try:
        _proxy(url).supervisor.stopProcess(name, wait)
    except xmlrpc.client.Fault as fault:
        if fault.faultCode == NOT_RUNNING:
            return f"{name} was not running"
        return f"could not stop {name}: {fault.faultString}"
    except (OSError, xmlrpc.client.Error) as exc:
        return f"supervisor unreachable: {exc}"
    return f"{name} stopped"

"""Dashboard launcher: refuse to listen off loopback without DASHBOARD_PASSWORD, else run Streamlit.

supervisord starts the dashboard as ``python -m dashboard_guard streamlit_app.py [flags]``. The
guard works out the address Streamlit would bind, in Streamlit's own order: the
``--server.address`` flag, env ``STREAMLIT_SERVER_ADDRESS``, then ``.streamlit/config.toml``
(beside the script, in the working folder, then in the home folder). Only 127.0.0.0/8, ::1 and
``localhost`` count as loopback; an empty or absent address means all interfaces. Off loopback
without a password it exits with code 2 and one line on stderr before anything listens;
otherwise it replaces itself (same pid, so supervisord's signals reach the server) with
``python -m streamlit run`` and the same arguments. The in-app gate in ``dashboard.py`` uses
the same loopback rule.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import sys
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path

EXIT_REFUSED = 2
PASSWORD_ENV = "DASHBOARD_PASSWORD"
ADDRESS_ENV = "STREAMLIT_SERVER_ADDRESS"
ADDRESS_FLAG = "--server.address"
CONFIG_NAME = "config.toml"
_LOOPBACK_V4 = ipaddress.ip_network("127.0.0.0/8")
_LOOPBACK_V6 = ipaddress.ip_address("::1")

logger = logging.getLogger("dashboard_guard")


def is_loopback(address: str | None) -> bool:
    """Whether binding ``address`` keeps the server on this machine (empty = all interfaces)."""
    text = (address or "").strip()
    if text.lower() == "localhost":
        return True
    try:
        ip = ipaddress.ip_address(text.removeprefix("[").removesuffix("]"))
    except ValueError:  # empty, a host name, a unix socket: reachable beyond loopback
        return False
    return ip in _LOOPBACK_V4 if ip.version == 4 else ip == _LOOPBACK_V6


def describe_address(address: str | None) -> str:
    """How a refusal names the address: the address, or 'all interfaces' when it is empty."""
    text = (address or "").strip()
    return text if text else "all interfaces (server.address is empty)"


def flag_address(args: Sequence[str]) -> str | None:
    """The last ``--server.address`` value among Streamlit's flags (None when absent)."""
    found: str | None = None
    for index, arg in enumerate(args):
        if arg == "--":  # what follows goes to the script, not to Streamlit
            break
        if arg.startswith(ADDRESS_FLAG + "="):
            found = arg.partition("=")[2]
        elif arg == ADDRESS_FLAG and index + 1 < len(args):
            found = args[index + 1]
    return found


def config_files(script: str | None, home: Path, cwd: Path) -> list[Path]:
    """Streamlit's config.toml files, later ones winning: global, project, the script's folder."""
    files = [home / ".streamlit" / CONFIG_NAME, cwd / ".streamlit" / CONFIG_NAME]
    if script:
        beside = (cwd / script).parent / ".streamlit" / CONFIG_NAME
        if beside.resolve() not in {f.resolve() for f in files}:
            files.append(beside)
    return files


def file_address(files: Sequence[Path], env: Mapping[str, str]) -> str | None:
    """``[server] address`` from the last config file that sets it (``env:NAME`` resolved)."""
    found: str | None = None
    for path in files:
        try:
            server = tomllib.loads(path.read_text(encoding="utf-8")).get("server") or {}
        except FileNotFoundError:
            continue
        if "address" in server:
            found = str(server["address"])
    if found is not None and found.startswith("env:"):
        return env.get(found.removeprefix("env:"))
    return found


def configured_address(
    args: Sequence[str], env: Mapping[str, str], home: Path | None = None,
    cwd: Path | None = None,
) -> str | None:
    """The address Streamlit will bind: flag, then environment, then its config files."""
    flagged = flag_address(args)
    if flagged is not None:
        return flagged
    if env.get(ADDRESS_ENV):  # Streamlit's CLI ignores an empty variable
        return env[ADDRESS_ENV]
    script = next((arg for arg in args if not arg.startswith("-")), None)
    files = config_files(script, home or Path.home(), cwd or Path.cwd())
    return file_address(files, env)


def refusal(address: str | None, password: str) -> str | None:
    """Why the dashboard must not start on ``address`` (None when it may)."""
    if password or is_loopback(address):
        return None
    return (
        f"refusing to start the dashboard on {describe_address(address)} without "
        f"{PASSWORD_ENV}: set it, or bind to 127.0.0.1"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Check the address, then exec ``python -m streamlit run`` (returns only on refusal)."""
    logging.basicConfig(format="error: %(message)s", stream=sys.stderr)
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        address = configured_address(args, os.environ)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        logger.error("cannot read the Streamlit config to check the address: %s", exc)
        return EXIT_REFUSED
    reason = refusal(address, os.environ.get(PASSWORD_ENV, ""))
    if reason is not None:
        logger.error(reason)
        return EXIT_REFUSED
    os.execv(sys.executable, [sys.executable, "-m", "streamlit", "run", *args])
    return 0  # not reached: execv replaces this process


if __name__ == "__main__":
    sys.exit(main())

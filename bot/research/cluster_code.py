"""Before a run on a Dask cluster: the scheduler and every worker must load this very code.

Dask unpickles a task graph on the scheduler, so a scheduler that cannot import ``bot`` fails
the first task with "Error during deserialization of the task graph", and a worker without it
fails each task the same way. Both are asked for their ``code_fingerprint`` first, and a
cluster that cannot load MyTrader, or runs another version of it, is refused in one line
saying what to install where.
"""

from __future__ import annotations

from typing import Any

from bot.research.backends import code_fingerprint, require_same_code
from shared.domain.errors import ConfigError

INSTALL_HINT = ("install MyTrader in the environment it runs from (pip install . from the same "
                "commit, or make install) and start it from that environment")


def _not_loadable(exc: BaseException) -> bool:
    """Whether ``exc`` says the remote side cannot import or unpickle our code."""
    text = str(exc)
    return isinstance(exc, ImportError) or "deserializ" in text or "No module named" in text


def check_scheduler(client: Any, address: str) -> None:
    """Refuse a scheduler that cannot import this code or runs another version of it."""
    try:
        found = client.run_on_scheduler(code_fingerprint)
    except Exception as exc:  # whatever the scheduler raised while loading or running it
        if not _not_loadable(exc):
            raise
        raise ConfigError(f"--cluster {address}: the Dask scheduler cannot load MyTrader's code "
                          f"({exc}): {INSTALL_HINT}") from None
    mine = code_fingerprint()
    if found != mine:
        raise ConfigError(f"--cluster {address}: the Dask scheduler runs other code (code "
                          f"{found}) than this client (code {mine}): {INSTALL_HINT}")


def check_workers(client: Any, address: str) -> None:
    """Refuse workers that cannot import this code or run another version of it."""
    answers = client.run(code_fingerprint, on_error="return")
    broken = sorted(f"{worker} ({answer})" for worker, answer in answers.items()
                    if isinstance(answer, BaseException))
    if broken:
        raise ConfigError(f"--cluster {address}: Dask worker(s) {', '.join(broken)} cannot run "
                          f"MyTrader's code: {INSTALL_HINT}")
    require_same_code(answers)

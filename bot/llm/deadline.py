"""Run a blocking call with a wall-clock deadline: past it, the caller moves on without it.

The call keeps running in its daemon thread until its own socket timeouts end it; its result is
then dropped. Used so a slow or hung provider can never hold the worker past ``timeout_s``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class _Box(Generic[T]):
    def __init__(self) -> None:
        self.value: T | None = None
        self.error: BaseException | None = None
        self.done = threading.Event()


def run_with_deadline(fn: Callable[[], T], deadline_s: float) -> tuple[bool, T | None]:
    """Return (True, result) if ``fn`` finished within ``deadline_s``, else (False, None).

    An exception raised by ``fn`` within the deadline is re-raised here.
    """
    box: _Box[T] = _Box()

    def target() -> None:
        try:
            box.value = fn()
        except BaseException as exc:  # handed to the waiting caller
            box.error = exc
        finally:
            box.done.set()

    threading.Thread(target=target, name="llm-call", daemon=True).start()
    if not box.done.wait(deadline_s):
        return False, None
    if box.error is not None:
        raise box.error
    return True, box.value

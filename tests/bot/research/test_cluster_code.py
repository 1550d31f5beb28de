"""The code check before a cluster run: what each answer of the scheduler and the workers gives.

The real scheduler and workers (missing package, other version) are in
``tests/integration/test_package.py``; here a client stand-in returns what Dask's ``run`` and
``run_on_scheduler`` return, so every branch of the message is pinned cheaply.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from bot.research.backends import code_fingerprint
from bot.research.cluster_code import check_scheduler, check_workers
from shared.domain.errors import ConfigError

pytestmark = pytest.mark.unit
ADDRESS = "tcp://10.0.0.5:8786"


@dataclass
class Answers:
    """What Dask's client returns: the scheduler's answer, and each worker's."""

    scheduler: Any = None
    workers: dict[str, Any] = field(default_factory=dict)

    def run_on_scheduler(self, function):
        if isinstance(self.scheduler, BaseException):
            raise self.scheduler
        return self.scheduler

    def run(self, function, on_error="raise"):
        assert on_error == "return"
        return self.workers


def test_the_same_code_everywhere_passes():
    mine = code_fingerprint()
    check_scheduler(Answers(scheduler=mine), ADDRESS)
    check_workers(Answers(workers={"tcp://a:1": mine, "tcp://b:2": mine}), ADDRESS)


def test_a_scheduler_that_cannot_import_the_code_is_told_what_to_install():
    missing = ModuleNotFoundError("No module named 'bot'")
    with pytest.raises(ConfigError) as refused:
        check_scheduler(Answers(scheduler=missing), ADDRESS)
    text = str(refused.value)
    assert text.startswith(f"--cluster {ADDRESS}: the Dask scheduler cannot load MyTrader's code")
    assert "No module named 'bot'" in text and "pip install ." in text


def test_a_scheduler_on_another_version_is_refused_with_both_hashes():
    with pytest.raises(ConfigError, match=f"runs other code \\(code 0123\\) than this client "
                                          f"\\(code {code_fingerprint()}\\)"):
        check_scheduler(Answers(scheduler="0123"), ADDRESS)


def test_another_scheduler_error_is_not_disguised_as_a_missing_package():
    with pytest.raises(OSError, match="connection reset"):
        check_scheduler(Answers(scheduler=OSError("connection reset")), ADDRESS)


def test_workers_without_the_code_or_on_another_version_are_named():
    mine = code_fingerprint()
    missing = Answers(workers={"tcp://a:1": mine,
                               "tcp://b:2": ModuleNotFoundError("No module named 'bot'")})
    with pytest.raises(ConfigError, match=r"worker\(s\) tcp://b:2 \(No module named 'bot'\) "
                                          "cannot run MyTrader's code"):
        check_workers(missing, ADDRESS)
    other = Answers(workers={"tcp://a:1": mine, "tcp://b:2": "feedbeef"})
    with pytest.raises(ConfigError) as refused:
        check_workers(other, ADDRESS)
    assert "tcp://b:2 (code feedbeef) run other code than this client" in str(refused.value)
    assert "tcp://a:1" not in str(refused.value)

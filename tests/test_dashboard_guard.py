"""The dashboard launcher's rules: what counts as loopback, which address wins, when to refuse."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

import dashboard_guard
from dashboard_guard import configured_address, flag_address, is_loopback, refusal

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(("address", "loopback"), [
    ("127.0.0.1", True),
    ("127.1.2.3", True),  # all of 127.0.0.0/8
    ("127.255.255.254", True),
    ("::1", True),
    ("[::1]", True),
    ("localhost", True),
    ("LOCALHOST", True),
    (" 127.0.0.1 ", True),
    ("", False),  # empty: Streamlit listens on all interfaces
    ("   ", False),
    (None, False),
    ("0.0.0.0", False),
    ("::", False),
    ("128.0.0.1", False),
    ("126.255.255.255", False),
    ("192.168.1.10", False),
    ("10.0.0.1", False),
    ("::2", False),
    ("::ffff:127.0.0.1", False),  # only 127.0.0.0/8, ::1 and localhost count
    ("localhost.example.com", False),
    ("myhost", False),
    ("unix:///tmp/dash.sock", False),
])
def test_only_127_8_ipv6_loopback_and_localhost_are_loopback(address, loopback):
    assert is_loopback(address) is loopback


@pytest.mark.parametrize(("args", "found"), [
    (["streamlit_app.py"], None),
    (["streamlit_app.py", "--server.address=0.0.0.0"], "0.0.0.0"),
    (["streamlit_app.py", "--server.address="], ""),
    (["streamlit_app.py", "--server.address", "10.0.0.1", "--server.headless=true"],
     "10.0.0.1"),
    (["app.py", "--server.address=127.0.0.1", "--server.address=0.0.0.0"], "0.0.0.0"),
    (["app.py", "--", "--server.address=0.0.0.0"], None),  # a script argument, not a flag
])
def test_the_address_flag_is_read_in_both_spellings(args, found):
    assert flag_address(args) == found


def _toml(folder: Path, address: str) -> None:
    (folder / ".streamlit").mkdir(parents=True, exist_ok=True)
    (folder / ".streamlit" / "config.toml").write_text(f'[server]\naddress = "{address}"\n')


def test_the_flag_beats_the_environment_which_beats_the_config_files(tmp_path):
    home, project = tmp_path / "home", tmp_path / "project"
    _toml(home, "0.0.0.0")
    _toml(project, "127.0.0.1")
    where = {"home": home, "cwd": project}
    env = {"STREAMLIT_SERVER_ADDRESS": "10.0.0.1"}
    assert configured_address(["app.py", "--server.address=::1"], env, **where) == "::1"
    assert configured_address(["app.py"], env, **where) == "10.0.0.1"
    # an empty variable is ignored, as Streamlit's CLI ignores it; the project beats home
    assert configured_address(["app.py"], {"STREAMLIT_SERVER_ADDRESS": ""}, **where) == (
        "127.0.0.1")
    assert configured_address(["app.py"], {}, home=home, cwd=tmp_path / "none") == "0.0.0.0"
    assert configured_address(["app.py"], {}, home=tmp_path / "x", cwd=tmp_path / "y") is None


def test_a_config_file_beside_the_script_wins_and_env_values_are_resolved(tmp_path):
    _toml(tmp_path, "127.0.0.1")
    _toml(tmp_path / "app", "env:BIND")
    where = {"home": tmp_path / "home", "cwd": tmp_path}
    assert configured_address(["app/main.py"], {"BIND": "0.0.0.0"}, **where) == "0.0.0.0"
    assert configured_address(["app/main.py"], {}, **where) is None


def test_the_checkouts_own_streamlit_config_binds_loopback():
    assert configured_address(["streamlit_app.py"], {}, home=REPO_ROOT / "no-home",
                              cwd=REPO_ROOT) == "127.0.0.1"


def test_refusal_off_loopback_only_without_a_password():
    assert refusal("127.0.0.1", "") is None
    assert refusal("0.0.0.0", "s3cret") is None
    assert refusal("", "s3cret") is None
    assert refusal("0.0.0.0", "") == (
        "refusing to start the dashboard on 0.0.0.0 without DASHBOARD_PASSWORD: set it, "
        "or bind to 127.0.0.1")
    assert "on all interfaces (server.address is empty)" in refusal("", "")


def test_main_refuses_with_exit_2_and_one_line_before_running_streamlit(monkeypatch, caplog):
    monkeypatch.delenv("DASHBOARD_PASSWORD", raising=False)
    monkeypatch.setattr(dashboard_guard.os, "execv", lambda *a: pytest.fail("execv called"))
    with caplog.at_level(logging.ERROR, logger="dashboard_guard"):
        code = dashboard_guard.main(["streamlit_app.py", "--server.address=0.0.0.0"])
    assert code == 2
    assert [r.getMessage() for r in caplog.records] == [refusal("0.0.0.0", "")]


def test_main_execs_streamlit_run_with_the_same_arguments(monkeypatch):
    calls = []
    monkeypatch.setenv("DASHBOARD_PASSWORD", "s3cret")
    monkeypatch.setattr(dashboard_guard.os, "execv", lambda path, argv: calls.append(argv))
    dashboard_guard.main(["streamlit_app.py", "--server.address=0.0.0.0"])
    assert len(calls) == 1
    assert calls[0][1:] == ["-m", "streamlit", "run", "streamlit_app.py",
                            "--server.address=0.0.0.0"]

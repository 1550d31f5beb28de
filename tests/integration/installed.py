"""MyTrader installed with pip into a fresh virtual environment, away from the checkout.

The new venv reuses this interpreter's packages through a ``.pth`` line (so nothing is
downloaded but the build backend, and only when the running venv cannot build offline) and
gets MyTrader itself by ``pip install --no-deps`` of a copy of the sources: a process started
from it with another working folder imports only the installed copy. The ``dask`` command a
full install would bring is written as pip writes it.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import sysconfig
import time
from dataclasses import dataclass
from pathlib import Path

from tests.support import REPO_ROOT

SOURCES = ("pyproject.toml", "README.md", "requirements.txt", "bot", "shared", "dashboard",
           "app_pages", "streamlit_app.py", "dashboard_guard.py")


@dataclass(frozen=True)
class Venv:
    """A virtual environment: its folder and how long the install of MyTrader took."""

    root: Path
    install_s: float

    def bin(self, name: str) -> Path:
        return self.root / "bin" / name

    def site_packages(self) -> Path:
        return next((self.root / "lib").glob("python3*/site-packages"))


def bare_venv(root: Path) -> Venv:
    """A venv without pip of its own that sees this interpreter's packages, not MyTrader."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    venv = Venv(root, 0.0)
    base = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    # A plain path line: the base's own .pth files (an editable MyTrader among them) stay unread.
    (venv.site_packages() / "_base_packages.pth").write_text("\n".join(sorted(base)) + "\n")
    return venv


def add_console_script(venv: Venv, name: str) -> Path:
    """The ``name`` command of a reused package, written as pip writes it when it installs that
    package (``--no-deps`` installed none: e.g. ``dask`` for ``dask scheduler``)."""
    from importlib.metadata import entry_points

    (point,) = entry_points(group="console_scripts", name=name)
    module, _, attribute = point.value.partition(":")
    script = venv.bin(name)
    script.write_text(f"#!{venv.bin('python')}\nimport sys\nfrom {module} import {attribute}\n"
                      f"if __name__ == '__main__':\n    sys.exit({attribute}())\n")
    script.chmod(0o755)
    return script


def copy_sources(target: Path) -> Path:
    """The files a build needs, copied (a build writes build/ and *.egg-info beside them)."""
    target.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in SOURCES:
        source = REPO_ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=ignore)
        else:
            shutil.copy2(source, target / name)
    return target


def can_build_offline() -> bool:
    """Whether this interpreter's setuptools builds a wheel by itself (>= 70.1, or ``wheel``)."""
    if importlib.util.find_spec("wheel") is not None:
        return True
    try:
        from setuptools import __version__
    except ImportError:
        return False
    major, minor = (int(part) for part in __version__.split(".")[:2])
    return (major, minor) >= (70, 1)


def installed_venv(root: Path, sources: Path) -> Venv:
    """``pip install --no-deps`` of ``sources`` into a new venv under ``root``."""
    venv = bare_venv(root)
    isolation = ["--no-build-isolation"] if can_build_offline() else []
    started = time.monotonic()
    subprocess.run([str(venv.bin("python")), "-m", "pip", "install", "--quiet", "--no-deps",
                    *isolation, str(sources)], check=True, cwd=root, env=clean_env())
    add_console_script(venv, "dask")
    return Venv(root, time.monotonic() - started)


def clean_env() -> dict[str, str]:
    """This environment without anything that would put the checkout on the import path."""
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    env["PYTHONUNBUFFERED"] = "1"
    return env

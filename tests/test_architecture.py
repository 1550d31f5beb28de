"""The layering rules of DESIGN §2, checked on the source: who may import what, where SQL lives."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Our SQL is written in upper case, which keeps English prose ("select a ... from") out of it.
SQL = re.compile(r"\b(SELECT\s[^\n]*\sFROM|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|"
                 r"CREATE\s+TABLE)\b")


def python_files(*folders: str) -> list[Path]:
    return [p for folder in folders for p in sorted((ROOT / folder).rglob("*.py"))]


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def roots(path: Path) -> set[str]:
    return {name.split(".")[0] for name in imported_modules(path)}


@pytest.mark.parametrize("path", python_files("shared"), ids=lambda p: p.name)
def test_shared_imports_no_bot_pages_streamlit_boto3_or_ib_async(path):
    assert not roots(path) & {"bot", "app_pages", "dashboard", "streamlit", "boto3",
                              "botocore", "ib_async"}


@pytest.mark.parametrize("path", [*python_files("app_pages"), ROOT / "dashboard.py",
                                  ROOT / "streamlit_app.py"], ids=lambda p: p.name)
def test_pages_never_import_the_bot_a_broker_or_an_llm_client(path):
    assert not roots(path) & {"bot", "boto3", "botocore", "ib_async"}


def test_only_bot_ib_imports_ib_async_and_only_bot_llm_imports_boto3():
    for path in python_files("bot", "shared", "app_pages"):
        found = roots(path)
        relative = path.relative_to(ROOT).as_posix()
        if "ib_async" in found:
            assert relative.startswith("bot/ib/"), relative
        if found & {"boto3", "botocore"}:
            assert relative.startswith("bot/llm/"), relative


@pytest.mark.parametrize("path", [*python_files("bot", "app_pages"), ROOT / "dashboard.py"],
                         ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_sql_outside_shared(path):
    assert not SQL.search(path.read_text(encoding="utf-8"))

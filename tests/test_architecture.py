"""The layering rules of DESIGN §2, checked on the source: who may import what, where SQL lives.

Imports are read with ``ast`` (``TYPE_CHECKING`` imports included, so a type-only cycle counts
as a cycle too). Layers: ``bot.core`` (pure decisions) and ``bot.ports`` (protocols) import no
runtime, adapter, UI, broker or cloud library; ``shared.domain`` imports no persistence and no
config; ``shared`` imports neither ``bot`` nor the dashboard; pages never import the bot.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[1]
# Our SQL is written in upper case, which keeps English prose ("select a ... from") out of it.
SQL = re.compile(r"\b(SELECT\s[^\n]*\sFROM|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|"
                 r"CREATE\s+TABLE)\b")
PACKAGES = ("bot", "shared", "dashboard")
THIRD_PARTY_IO = {"streamlit", "boto3", "botocore", "ib_async", "apprise", "dask", "distributed",
                  "feedparser", "telegram", "requests", "urllib3", "joblib", "optuna", "sqlite3",
                  "vaderSentiment"}


def python_files(*folders: str) -> list[Path]:
    return [p for folder in folders for p in sorted((ROOT / folder).rglob("*.py"))]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def imported_modules(path: Path) -> frozenset[str]:
    names: set[str] = set()
    package = module_name(path).rpartition(".")[0]
    if path.name == "__init__.py":
        package = module_name(path)
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base]) if base else ".".join(anchor)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return frozenset(names)


def roots(path: Path) -> set[str]:
    return {name.split(".")[0] for name in imported_modules(path)}


def internal_graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports (``from pkg import mod`` counts as ``pkg.mod``)."""
    files = {module_name(p): p for p in python_files(*PACKAGES)}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        targets = {m for m in imported_modules(path) if m in files and m != name}
        graph[name] = targets
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def test_there_is_no_import_cycle_in_bot_shared_or_the_dashboard():
    assert find_cycles(internal_graph()) == []


def test_no_package_level_cycle_between_the_bot_layers():
    layer = {"core": 0, "ports": 0, "llm": 1, "adapters": 1, "runtime": 2, "backtest": 2,
             "research": 3}
    graph = internal_graph()
    package_graph: dict[str, set[str]] = {}
    for module, targets in graph.items():
        parts = module.split(".")
        if parts[0] != "bot" or len(parts) < 2 or parts[1] not in layer:
            continue
        package_graph.setdefault(parts[1], set()).update(
            t.split(".")[1] for t in targets
            if t.startswith("bot.") and t.split(".")[1] in layer and t.split(".")[1] != parts[1]
        )
    assert find_cycles(package_graph) == []


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize("path", python_files("bot/core") + [ROOT / "bot/ports.py"],
                         ids=lambda p: p.relative_to(ROOT).as_posix())
def test_the_core_imports_no_runtime_adapter_ui_broker_or_cloud_library(path):
    imported = imported_modules(path)
    forbidden = [m for m in imported if m.startswith(("bot.runtime", "bot.adapters", "bot.llm",
                                                      "bot.backtest", "bot.composition",
                                                      "dashboard", "app_pages",
                                                      "shared.persistence"))]
    assert forbidden == []
    assert not roots(path) & THIRD_PARTY_IO


@pytest.mark.parametrize("path", python_files("shared/domain"), ids=lambda p: p.name)
def test_the_shared_domain_imports_no_persistence_and_no_config(path):
    imported = imported_modules(path)
    assert [m for m in imported if m.startswith(("shared.persistence", "shared.config"))] == []
    assert not roots(path) & THIRD_PARTY_IO


@pytest.mark.parametrize("path", python_files("shared"), ids=lambda p: p.name)
def test_shared_imports_no_bot_pages_streamlit_boto3_or_ib_async(path):
    assert not roots(path) & {"bot", "app_pages", "dashboard", "streamlit", "boto3",
                              "botocore", "ib_async"}


@pytest.mark.parametrize("path", [*python_files("app_pages"), *python_files("dashboard"),
                                  ROOT / "streamlit_app.py"], ids=lambda p: p.name)
def test_pages_never_import_the_bot_a_broker_or_an_llm_client(path):
    assert not roots(path) & {"bot", "boto3", "botocore", "ib_async"}


# Each outside client library and the only modules allowed to import it. Widen deliberately:
# a new cloud adapter gets its own line here (boto3 stays under bot/llm/, ib_async under
# bot/adapters/ib/).
LIBRARY_HOMES = {
    "ib_async": ("bot/adapters/ib/",),
    "boto3": ("bot/llm/bedrock.py", "bot/llm/comprehend.py", "bot/llm/s3_export.py",
              "bot/llm/bedrock_control.py", "bot/llm/aws_session.py"),
    "botocore": ("bot/llm/bedrock.py", "bot/llm/comprehend.py", "bot/llm/s3_export.py",
                 "bot/llm/bedrock_control.py", "bot/llm/aws_session.py"),
    "feedparser": ("bot/adapters/news/rss.py",),
    "vaderSentiment": ("bot/adapters/news/vader.py",),
    "apprise": ("bot/alerts/",),
    # Research at scale: the cluster client, the TPE sampler and the columnar bar reader/cache.
    "dask": ("bot/research/dask_backend.py",),
    "distributed": ("bot/research/dask_backend.py",),
    "optuna": ("bot/research/tpe.py",),
    "pyarrow": ("bot/adapters/feeds/fast_csv.py", "bot/backtest/bar_cache.py",
                "bot/backtest/process_memory.py", "bot/maintenance/archive.py"),
}


def test_outside_client_libraries_are_imported_only_in_their_adapters():
    for path in python_files("bot", "shared", "app_pages", "dashboard"):
        found = roots(path)
        relative = path.relative_to(ROOT).as_posix()
        for library, homes in LIBRARY_HOMES.items():
            if library in found:
                assert relative.startswith(homes), f"{relative} imports {library}"


def test_the_library_homes_keep_boto3_in_bot_llm_and_ib_async_in_the_ib_adapter():
    assert all(home.startswith("bot/llm/") for home in LIBRARY_HOMES["boto3"])
    assert all(home.startswith("bot/llm/") for home in LIBRARY_HOMES["botocore"])
    assert LIBRARY_HOMES["ib_async"] == ("bot/adapters/ib/",)


def test_only_the_composition_root_and_the_backtester_pick_adapters_for_the_loop():
    for path in python_files("bot/runtime"):
        imported = imported_modules(path)
        assert not [m for m in imported if m.startswith("bot.adapters.ib")
                    or m.startswith("bot.adapters.paper_broker")], path.name


@pytest.mark.parametrize(
    "path", [*python_files("bot", "app_pages", "dashboard"), *python_files("shared/domain"),
             *python_files("shared/config")],
    ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_sql_outside_shared_persistence(path):
    assert not SQL.search(path.read_text(encoding="utf-8"))

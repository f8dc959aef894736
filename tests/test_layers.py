"""Imports go one way along the pipeline, and each outside library has one home module."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "watcher"

# the only modules (or packages) allowed to import each outside library
HOMES = {
    "httpx": {"fetch"},
    "httpcore": {"fetch", "connect"},     # connect: the network backend under httpx's transport
    "feedparser": {"parse"},
    "apprise": {"deliver"},
    "sqlite_utils": {"store"},
    "jinja2": {"templates", "web"},          # web: the status page (autoescaped HTML)
    "markdown_it": {"templates"},            # message bodies as text
    "apscheduler": {"scheduler"},
    "click": {"cli"},
    "ruamel": {"ruleset"},
    "pydantic": {"ruleset"},
    "prometheus_client": {"metrics"},
    "ahocorasick": {"matchindex"},
    "re2": {"text"},                      # text/patterns: the engines a rule's pattern runs on
    "regex": {"text"},
}
# pure stages: no I/O modules, no orchestration
PURE = {"match", "facts", "alerts", "identity", "polling", "parse", "fastparse", "models", "errors", "timefmt",
        "templates", "noise"}
PURE |= {"text", "corroboration", "explain", "balance"}
PURE.add("matchindex")
IO_AND_UP = {"fetch", "store", "deliver", "dispatch", "pipeline", "scheduler", "app", "cli", "parsepool"}
IO_AND_UP |= {"backtest", "lifeline"}


def _modules():
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE).with_suffix("")
        yield rel.parts, ast.parse(path.read_text())


def _imports(tree: ast.AST, parts: tuple[str, ...]):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, 0
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(parts[:-node.level]) if node.level <= len(parts) else []
                target = ".".join(["watcher", *base, *(node.module.split(".") if node.module else [])])
                if not node.module:
                    for alias in node.names:
                        yield f"{target}.{alias.name}", node.level
                else:
                    yield target, node.level
            else:
                yield node.module or "", 0


def test_outside_libraries_are_imported_only_in_their_home():
    wrong = []
    for parts, tree in _modules():
        top = parts[0]
        for name, _ in _imports(tree, parts):
            lib = name.split(".")[0]
            if lib in HOMES and top not in HOMES[lib]:
                wrong.append(f"watcher/{'/'.join(parts)}.py imports {name}")
    assert wrong == []


def test_pure_stages_import_no_io_or_orchestration():
    wrong = []
    for parts, tree in _modules():
        if parts[0] not in PURE:
            continue
        for name, _ in _imports(tree, parts):
            segments = name.split(".")
            if segments[0] == "watcher" and len(segments) > 1 and segments[1] in IO_AND_UP:
                wrong.append(f"watcher/{'/'.join(parts)}.py imports {name}")
    assert wrong == []

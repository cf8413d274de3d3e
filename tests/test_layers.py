"""The shape of the package (issue 11): layers that import only downwards, no import cycle,
and storage kept behind its interface."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "complaintforms"

# Each layer may import the ones listed (and itself). The top-level modules errors, config
# and workspace are shared: errors and config by everything, workspace by services and up.
ALLOWED = {
    "errors": set(),
    "runtime": set(),
    "i18n": {"errors"},
    "config": {"errors", "i18n", "domain"},
    "domain": {"errors", "i18n", "config"},
    "storage": {"errors", "i18n", "domain"},
    "workspace": {"errors", "i18n", "config", "storage"},
    "documents": {"errors", "i18n", "config", "domain", "storage", "workspace", "runtime"},
    "services": {
        "errors",
        "i18n",
        "config",
        "domain",
        "storage",
        "workspace",
        "documents",
        "runtime",
    },
    "web": {
        "errors",
        "i18n",
        "config",
        "domain",
        "storage",
        "workspace",
        "documents",
        "services",
        "runtime",
    },
    "cli": {
        "errors",
        "i18n",
        "config",
        "domain",
        "storage",
        "workspace",
        "documents",
        "services",
        "web",
        "runtime",
    },
    # The entry point: the command server's client and server, above the command line.
    "launch": {"errors", "i18n", "runtime", "cli"},
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every complaintforms module this file imports, at the top or inside a function."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.startswith("complaintforms"):
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    as_module = PACKAGE.parent.joinpath(*full.split(".")).with_suffix(".py")
                    out.add(full if as_module.exists() else node.module)
        elif isinstance(node, ast.ImportFrom) and node.level:
            raise AssertionError(f"{path}: relative import (use complaintforms.…)")
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("complaintforms"))
    return out


def graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {
        name: {m for m in imports_of(path) if m in modules and m != name}
        for name, path in modules.items()
    }


def layer(module: str) -> str:
    return module.split(".")[1] if "." in module else "complaintforms"


def test_layers_import_only_downwards():
    wrong = []
    for module, deps in graph().items():
        own = layer(module)
        if own not in ALLOWED:
            continue
        for dep in deps:
            other = layer(dep)
            if other != own and other not in ALLOWED[own] and other != "complaintforms":
                wrong.append(f"{module} imports {dep}")
    assert wrong == []


def test_no_import_cycle():
    g = graph()
    seen, stack, cycles = set(), [], []

    def visit(node: str) -> None:
        if node in stack:
            cycles.append(" -> ".join(stack[stack.index(node) :] + [node]))
            return
        if node in seen:
            return
        seen.add(node)
        stack.append(node)
        for dep in sorted(g[node]):
            visit(dep)
        stack.pop()

    for node in sorted(g):
        visit(node)
    assert cycles == []


def test_only_the_storage_package_imports_tinydb_or_touches_records():
    """The records are reached through the store only. workspace.py is where a workspace's
    folder is given to its store, and may name records/ for that."""
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if "storage" in path.relative_to(PACKAGE).parts[:1] or path.name == "workspace.py":
            continue
        text = path.read_text(encoding="utf-8")
        tree = ast.parse(text)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
                names += [a.name for a in node.names]
                if any(n == "tinydb" or n.startswith("tinydb.") for n in names):
                    offenders.append(f"{module_name(path)} imports tinydb")
            if isinstance(node, ast.Attribute) and node.attr in ("records_dir", "records"):
                offenders.append(f"{module_name(path)} line {node.lineno}: .{node.attr}")
    assert offenders == []

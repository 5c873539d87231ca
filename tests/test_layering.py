"""The layering in docs/architecture.md, enforced on the import statements of every module."""

from __future__ import annotations

import ast
from collections.abc import Collection
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("rightswatch", "crawler", "matching", "evidence", "scheduler")

FORBIDDEN: dict[str, set[str]] = {
    "evidence": {
        "crawler",
        "matching",
        "rightswatch",
        "scheduler",
        "scrapy",
        "apscheduler",
        "sandbox",
    },
    "matching": {
        "crawler",
        "evidence",
        "rightswatch",
        "scheduler",
        "scrapy",
        "apscheduler",
        "sandbox",
    },
    "crawler": {"rightswatch", "scheduler", "sandbox"},
    "scheduler": {"rightswatch", "sandbox"},
    "rightswatch": {"sandbox"},
    "sandbox": set(PRODUCT),
}

# Leaf modules a lower layer may import although their package is forbidden to it, each with
# the reason. evidence.kinds holds the case file's enums and imports nothing but enum: the
# likeness engine returns the same Decision the case file stores (one enum per concept).
ALLOWED: dict[str, set[str]] = {"matching": {"evidence.kinds"}}
LEAVES = {"evidence/kinds.py": {"__future__", "enum"}}


def _modules(package: str) -> list[Path]:
    single = ROOT / f"{package}.py"
    if single.exists():
        return [single]
    return sorted((ROOT / package).rglob("*.py"))


def _modules_imported(path: Path) -> set[str]:
    """Full dotted names of the absolute imports in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def _imports(path: Path, allowed: Collection[str] = ()) -> set[str]:
    """Top-level packages ``path`` imports, leaving out the ``allowed`` leaf modules."""
    return {name.split(".")[0] for name in _modules_imported(path) if name not in allowed}


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_respects_layering(package: str) -> None:
    modules = _modules(package)
    if package in ("evidence", "rightswatch"):
        assert modules, f"{package} has no modules"
    bad = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in modules
        for name in sorted(_imports(path, ALLOWED.get(package, ())) & FORBIDDEN[package])
    ]
    assert not bad, "layering broken:\n" + "\n".join(bad)


@pytest.mark.parametrize("leaf", sorted(LEAVES))
def test_allowed_leaves_import_nothing_else(leaf: str) -> None:
    imported = _modules_imported(ROOT / leaf)
    assert imported <= LEAVES[leaf], f"{leaf} must stay a leaf; it imports {imported}"


def test_allowance_is_narrow(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text("from evidence.kinds import Decision\nfrom evidence.models import Finding\n")
    assert _imports(probe, ALLOWED["matching"]) == {"evidence"}
    probe.write_text("from evidence.kinds import Decision\n")
    assert _imports(probe, ALLOWED["matching"]) == set()


def test_checker_sees_imports(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text("import scrapy.http\nfrom crawler.items import X\nfrom . import y\n")
    assert _imports(probe) == {"scrapy", "crawler"}

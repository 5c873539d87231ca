"""The layering in docs/architecture.md, enforced on the import statements of every module."""

from __future__ import annotations

import ast
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


def _modules(package: str) -> list[Path]:
    single = ROOT / f"{package}.py"
    if single.exists():
        return [single]
    return sorted((ROOT / package).rglob("*.py"))


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_respects_layering(package: str) -> None:
    modules = _modules(package)
    if package in ("evidence", "rightswatch"):
        assert modules, f"{package} has no modules"
    bad = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in modules
        for name in sorted(_imports(path) & FORBIDDEN[package])
    ]
    assert not bad, "layering broken:\n" + "\n".join(bad)


def test_checker_sees_imports(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text("import scrapy.http\nfrom crawler.items import X\nfrom . import y\n")
    assert _imports(probe) == {"scrapy", "crawler"}

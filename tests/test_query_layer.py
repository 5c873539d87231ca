"""The case file's queries live in evidence/: no other layer writes SQL or opens a session.

Each module still allowed to is listed with the reason; the list only shrinks. The test fails
when a module outside evidence/ imports SQLAlchemy or opens ``store.session()`` without being
listed, and when a listed module no longer does (so the list stays true).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUTSIDE = ("rightswatch", "crawler", "matching", "scheduler.py")

LEFT: dict[str, str] = {}
# SQLAlchemy's URL parsing and exceptions are not queries (rightswatch/commands/schedule.py
# checks a job-store URL); its query and ORM modules are.
QUERYING = ("sqlalchemy", "sqlalchemy.orm", "sqlalchemy.sql", "sqlalchemy.future")


def _modules() -> list[Path]:
    paths: list[Path] = []
    for name in OUTSIDE:
        path = ROOT / name
        paths += [path] if path.suffix == ".py" else sorted(path.rglob("*.py"))
    return paths


def _querying(module: str) -> bool:
    return module in QUERYING or module.startswith(tuple(f"{q}." for q in QUERYING[1:]))


def _runs_queries(path: Path) -> list[str]:
    """What in ``path`` touches the database directly: SQLAlchemy imports, session opens."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [f"import {a.name}" for a in node.names if _querying(a.name)]
        elif isinstance(node, ast.ImportFrom) and _querying(node.module or ""):
            found.append(f"from {node.module} import ...")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "session"
        ):
            found.append(f"line {node.lineno}: .session()")
    return found


def test_only_listed_modules_outside_evidence_query_the_case_file() -> None:
    offenders = {
        str(path.relative_to(ROOT)): found
        for path in _modules()
        if (found := _runs_queries(path)) and str(path.relative_to(ROOT)) not in LEFT
    }
    assert not offenders, (
        "query the case file through evidence/ (evidence/queries/ by purpose):\n"
        + "\n".join(f"{m}: {', '.join(f)}" for m, f in sorted(offenders.items()))
    )


def test_the_list_of_modules_left_is_true() -> None:
    stale = [m for m in LEFT if not (ROOT / m).exists() or not _runs_queries(ROOT / m)]
    assert not stale, f"no longer query the case file; drop them from LEFT: {stale}"


def test_the_checker_sees_imports_and_sessions(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        "from sqlalchemy import select\nimport sqlalchemy.orm\n"
        "from sqlalchemy.engine import make_url\n"
        "def f(store):\n    with store.session() as s:\n        pass\n"
    )
    assert _runs_queries(probe) == [
        "from sqlalchemy import ...",
        "import sqlalchemy.orm",
        "line 5: .session()",
    ]

"""The case file's enums: one module, free of SQLAlchemy, one enum per concept."""

from __future__ import annotations

import subprocess
import sys

import evidence.kinds as kinds
import evidence.models as models
import matching


def test_kinds_loads_without_sqlalchemy() -> None:
    probe = "import sys, evidence.kinds; print('sqlalchemy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_one_decision_from_engine_to_case_file() -> None:
    assert matching.Decision is kinds.Decision is models.Decision
    verdict_decision = matching.Decision("flag")
    assert verdict_decision is models.Decision.FLAG


def test_models_store_the_kinds_enums() -> None:
    for name in kinds.__all__:
        assert getattr(models, name) is getattr(kinds, name)
    assert models.Finding.__table__.c.decision.type.enum_class is kinds.Decision

"""One owner of a finding's life: the transition table, custody on every move, no other writer."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from evidence import ledger
from evidence.custody import CustodyAction, chain_problems
from evidence.exceptions import DecisionError
from evidence.lifecycle import TRANSITIONS, Cause, allowed, change_status
from evidence.models import Finding, FindingStatus
from rightswatch.cli import cli as main
from tests.support.casefile import seed_finding

S = FindingStatus
ROOT = Path(__file__).resolve().parents[2]


def _status(store, fid) -> FindingStatus:  # type: ignore[no-untyped-def]
    with store.session() as s:
        return s.get(Finding, fid).status  # type: ignore[union-attr]


def test_table_allows_only_the_documented_moves():
    assert allowed(Cause.REVIEW, S.NEW, S.CONFIRMED)
    assert allowed(Cause.REVIEW, S.DISMISSED, S.CONFIRMED)
    assert not allowed(Cause.REVIEW, S.NOTICED, S.DISMISSED)  # past review
    assert not allowed(Cause.REVIEW, S.NEW, S.NOTICED)  # only notices notice
    assert not allowed(Cause.NOTICE, S.NEW, S.NOTICED)  # a person confirms first
    assert not allowed(Cause.NOTICE, S.DISMISSED, S.NOTICED)
    assert allowed(Cause.RECHECK, S.NOTICED, S.PERSISTING)
    assert not allowed(Cause.RECHECK, S.DISMISSED, S.REMOVED)
    assert not any(current is S.REMOVED for _, current in TRANSITIONS)  # removal is final


def test_every_move_writes_custody_naming_who_and_why(store, tmp_path):
    fid = seed_finding(store, "http://127.0.0.1:1", "life1", tmp_path / "refs")
    with store.session() as s:
        change_status(s, fid, S.CONFIRMED, cause=Cause.REVIEW, actor="Jane Doe",
                      reason="same face")  # fmt: skip
    with store.session() as s:
        change_status(s, fid, S.NOTICED, cause=Cause.NOTICE, actor="Ops",
                      reason="notice sent", details={"notice": 1})  # fmt: skip
    with store.session() as s:
        change_status(s, fid, S.PERSISTING, cause=Cause.RECHECK, actor="Ops",
                      reason="still online 30 days after the notice")  # fmt: skip
        entries = ledger.chain(s, finding_id=fid)
        row = s.get(Finding, fid)
        assert row is not None and row.reviewer == "Jane Doe"
    assert [(e.action, e.actor, e.details["from"], e.details["to"]) for e in entries] == [
        (CustodyAction.DECIDED, "Jane Doe", "new", "confirmed"),
        (CustodyAction.NOTICED, "Ops", "confirmed", "noticed"),
        (CustodyAction.RECHECKED, "Ops", "noticed", "persisting"),
    ]
    assert entries[0].details["reason"] == "same face"
    assert entries[1].details["notice"] == 1
    assert chain_problems(entries, source="db") == []


@pytest.mark.parametrize(
    ("cause", "target", "reason", "message"),
    [
        (Cause.NOTICE, S.NOTICED, "x", "notice may not make it noticed"),
        (Cause.REVIEW, S.REMOVED, "x", "review may not make it removed"),
        (Cause.REVIEW, S.DISMISSED, "  ", "a dismissal needs a reason"),
    ],
)
def test_refused_moves_change_nothing(store, tmp_path, cause, target, reason, message):
    fid = seed_finding(store, "http://127.0.0.1:1", "life2", tmp_path / "refs")
    with pytest.raises(DecisionError, match=message), store.session() as s:
        change_status(s, fid, target, cause=cause, actor="Jane Doe", reason=reason)
    assert _status(store, fid) is S.NEW
    with store.session() as s:
        assert ledger.chain(s, finding_id=fid) == []


def test_cli_confirm_and_dismiss_reach_the_owner(store_url, store, tmp_path):
    fid = seed_finding(store, "http://127.0.0.1:1", "life3", tmp_path / "refs")
    runner = CliRunner()
    ok = runner.invoke(main, ["findings", "confirm", str(fid), "--reviewer", "Jane Doe",
                              "--reason", "same costume", "--database", store_url])  # fmt: skip
    assert ok.exit_code == 0, ok.output
    assert "new -> confirmed by Jane Doe" in ok.output
    refused = runner.invoke(main, ["findings", "dismiss", str(fid), "--reviewer", "Jane Doe",
                                   "--reason", "", "--database", store_url])  # fmt: skip
    assert refused.exit_code == 1 and "a dismissal needs a reason" in refused.output
    ok = runner.invoke(main, ["findings", "dismiss", str(fid), "--reviewer", "Bob",
                              "--reason", "different ears", "--database", store_url])  # fmt: skip
    assert ok.exit_code == 0, ok.output
    with store.session() as s:
        entries = ledger.chain(s, finding_id=fid)
    assert [(e.actor, e.details["to"], e.details["reason"]) for e in entries] == [
        ("Jane Doe", "confirmed", "same costume"),
        ("Bob", "dismissed", "different ears"),
    ]


WRITES_STATUS = re.compile(r"\.status\s*=\s*FindingStatus|status\s*=\s*FindingStatus\.(?!NEW)")


def test_nothing_but_the_owner_writes_a_finding_status():
    writers = []
    for package in ("evidence", "rightswatch", "crawler", "matching", "scheduler.py"):
        base = ROOT / package
        files = [base] if base.is_file() else sorted(base.rglob("*.py"))
        for path in files:
            if path.name == "lifecycle.py":
                continue
            for number, line in enumerate(path.read_text().splitlines(), start=1):
                if WRITES_STATUS.search(line):
                    writers.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert writers == []

"""What a crawl writes into the case file: its candidates, their findings, its failures.

The crawler's record pipeline turns each item into a typed write (:class:`CandidateWrite`,
:class:`FailureWrite`) and hands them over in batches; :meth:`CrawlRecorder.write` stores a
batch in one transaction with one lookup of the candidates it names and one of their findings:

- a new candidate is inserted (first and last seen = fetch time) with its content fingerprint
  and its dissemination history (``evidence.dissemination``);
- a known candidate whose content is unchanged only gets ``last_seen`` moved (and the history,
  when the counts moved);
- a changed candidate is updated in place (first seen kept);
- verdicts other than "ignore" become or update findings (candidate x character); a person's
  status on an existing finding is never touched;
- a failure with an id is stored as a candidate in state blocked/failed with its reason, unless
  content is already stored for that id.

Several crawls may write to one case file at once (distributed shards on PostgreSQL): the
batch's known candidates are read with ``SELECT ... FOR UPDATE`` in id order, so writers of the
same items take turns, and a batch that loses the race to insert the same platform, candidate
or finding (a unique key violation) is run again, then finds the rows the other writer
committed. Outcomes are returned only for a committed batch.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from evidence.dissemination import HISTORY_KEY, history, observe
from evidence.kinds import CandidateKind, CandidateState, Decision, PlatformKind
from evidence.models import Candidate, Character, Finding, Platform
from evidence.store import Store

RACE_ATTEMPTS = 3  # a transaction that lost an insert race to another writer is run again
FINGERPRINT_KEY = "fingerprint"  # where ``Candidate.raw`` keeps the content fingerprint
T = TypeVar("T")


class Outcome(enum.Enum):
    NEW = "new"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class FindingWrite:
    """A verdict other than "ignore" for one character."""

    character: str
    decision: Decision
    score: float
    reference: str | None
    reasons: tuple[Mapping[str, Any], ...]


@dataclass(frozen=True)
class CandidateWrite:
    """A candidate as the crawl saw it: the columns it sets and the findings it carries."""

    kind: CandidateKind
    external_id: str
    fetched_at: datetime  # first seen when new, last seen always
    fingerprint: str  # the content fingerprint, computed once by the crawler
    unchanged: bool  # same fingerprint as stored: only last seen (and history) move
    counts: Mapping[str, float]  # downloads, likes...: the dissemination history
    state: CandidateState
    state_reason: str | None
    page_url: str
    media_url: str | None
    title: str
    creator: str | None
    tags: tuple[str, ...]
    licence: Mapping[str, Any]
    raw: Mapping[str, Any]  # the platform's JSON and what the crawl parsed
    sha256: str | None
    warc_record_id: str | None
    findings: tuple[FindingWrite, ...] = ()


@dataclass(frozen=True)
class FailureWrite:
    """Something meant to become content that did not, under the id it would have had."""

    kind: CandidateKind
    external_id: str
    state: CandidateState  # blocked or failed
    reason: str
    page_url: str
    at: datetime
    warc_record_id: str | None


@dataclass(frozen=True)
class Recorded:
    """What writing one candidate did."""

    outcome: Outcome
    findings_new: int


Write = CandidateWrite | FailureWrite
Key = tuple[CandidateKind, str]


class CrawlRecorder:
    """One crawl's writes for one platform (one instance per writer thread)."""

    def __init__(
        self,
        store: Store,
        platform: tuple[str, PlatformKind, str],  # name, kind, base URL
        run_id: int | None,
        warc_file: str | None,
    ) -> None:
        self.store = store
        self.platform = platform
        self.run_id = run_id
        self.warc_file = warc_file
        self.platform_id: int | None = None
        self.characters: dict[str, int] = {}

    def open(self) -> None:
        """The platform's row (created when new) and the characters findings can name."""
        name, kind, base = self.platform

        def platform(session: Session) -> None:
            row = session.scalar(select(Platform).where(Platform.name == name))
            if row is None:
                row = Platform(name=name, kind=kind, base_url=base)
                session.add(row)
                session.flush()
            self.platform_id = row.id
            self.characters = {c.name: c.id for c in session.scalars(select(Character))}

        self._transaction(platform)

    def write(self, batch: Sequence[Write]) -> list[Recorded | None]:
        """Store ``batch`` in one transaction; per write, what it did (None for a failure)."""
        return self._transaction(lambda session: self._write(session, batch))

    def _transaction(self, work: Callable[[Session], T]) -> T:
        """``work`` in one transaction, again when a concurrent writer inserted a key first."""
        for attempt in range(1, RACE_ATTEMPTS + 1):
            try:
                with self.store.session() as session:
                    return work(session)
            except IntegrityError:
                if attempt == RACE_ATTEMPTS:
                    raise
        raise AssertionError("unreachable")

    def _write(self, session: Session, batch: Sequence[Write]) -> list[Recorded | None]:
        rows = self._locked(session, {(w.kind, w.external_id) for w in batch})
        done: list[tuple[Candidate, CandidateWrite, Outcome] | None] = []
        for write in batch:
            key = (write.kind, write.external_id)
            if isinstance(write, FailureWrite):
                self._failure(session, rows, write)
                done.append(None)
                continue
            row, outcome = self._candidate(session, rows.get(key), write)
            rows[key] = row
            done.append((row, write, outcome))
        session.flush()  # one round of inserts; the new rows get their ids
        found = [d for d in done if d is not None and d[1].findings]
        existing = self._findings(session, [row.id for row, _, _ in found])
        recorded: list[Recorded | None] = []
        for entry in done:
            if entry is None:
                recorded.append(None)
                continue
            row, write, outcome = entry
            new = self._apply_findings(session, existing, row, write) if write.findings else 0
            recorded.append(Recorded(outcome, new))
        return recorded

    def _locked(self, session: Session, keys: set[Key]) -> dict[Key, Candidate]:
        """The stored candidates among ``keys``, locked for this transaction (in id order)."""
        if not keys:
            return {}
        query = (
            select(Candidate)
            .where(
                Candidate.platform_id == self.platform_id,
                Candidate.external_id.in_(sorted({e for _, e in keys})),
            )
            .order_by(Candidate.id)
            .with_for_update()
        )
        return {
            (row.kind, row.external_id): row
            for row in session.scalars(query)
            if (row.kind, row.external_id) in keys
        }

    def _candidate(
        self, session: Session, row: Candidate | None, write: CandidateWrite
    ) -> tuple[Candidate, Outcome]:
        before = history(row.raw) if row is not None else None
        seen = observe(before, write.counts, write.fetched_at)
        if row is not None and write.unchanged:
            row.last_seen = write.fetched_at
            if seen != before:  # counts moved: keep the observation
                row.raw = {**row.raw, HISTORY_KEY: seen}
            return row, Outcome.UNCHANGED
        fields: dict[str, Any] = {
            "state": write.state,
            "state_reason": write.state_reason,
            "page_url": write.page_url,
            "media_url": write.media_url,
            "title": write.title,
            "creator": write.creator,
            "tags": list(write.tags),
            "licence": dict(write.licence),
            "raw": {**write.raw, FINGERPRINT_KEY: write.fingerprint, HISTORY_KEY: seen},
            "sha256": write.sha256,
            "last_seen": write.fetched_at,
            "warc_file": self.warc_file,
            "warc_record_id": write.warc_record_id,
        }
        if row is None:
            row = Candidate(
                platform_id=self.platform_id,
                kind=write.kind,
                external_id=write.external_id,
                first_seen=write.fetched_at,
                run_id=self.run_id,
                **fields,
            )
            session.add(row)
            return row, Outcome.NEW
        for key, value in fields.items():
            setattr(row, key, value)
        return row, Outcome.UPDATED

    def _failure(self, session: Session, rows: dict[Key, Candidate], write: FailureWrite) -> None:
        key = (write.kind, write.external_id)
        row = rows.get(key)
        if row is None:
            rows[key] = Candidate(
                platform_id=self.platform_id,
                kind=write.kind,
                external_id=write.external_id,
                state=write.state,
                state_reason=write.reason,
                page_url=write.page_url,
                first_seen=write.at,
                last_seen=write.at,
                warc_file=self.warc_file if write.warc_record_id else None,
                warc_record_id=write.warc_record_id,
                run_id=self.run_id,
            )
            session.add(rows[key])
        elif row.state in (CandidateState.BLOCKED, CandidateState.FAILED):
            row.state, row.state_reason, row.last_seen = write.state, write.reason, write.at

    @staticmethod
    def _findings(session: Session, candidate_ids: list[int]) -> dict[tuple[int, int], Finding]:
        if not candidate_ids:
            return {}
        query = select(Finding).where(Finding.candidate_id.in_(sorted(set(candidate_ids))))
        return {(f.candidate_id, f.character_id): f for f in session.scalars(query)}

    def _apply_findings(
        self,
        session: Session,
        existing: dict[tuple[int, int], Finding],
        row: Candidate,
        write: CandidateWrite,
    ) -> int:
        new = 0
        for verdict in write.findings:
            character_id = self.characters.get(verdict.character)
            if verdict.decision is Decision.IGNORE or character_id is None:
                continue
            finding = existing.get((row.id, character_id))
            if finding is None:
                finding = Finding(
                    candidate_id=row.id, character_id=character_id, run_id=self.run_id
                )
                session.add(finding)
                existing[(row.id, character_id)] = finding
                new += 1
            finding.score = verdict.score
            finding.decision = verdict.decision
            finding.reasons = [dict(r) for r in verdict.reasons]
            finding.reference = verdict.reference
        return new

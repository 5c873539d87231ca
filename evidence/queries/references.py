"""What the likeness engine is built from: the stored references and their fingerprints, the
client's characters, and the model candidates with a flagged finding.

The engine builder (``crawler/engine_builder.py``) computes fingerprints and builds the engine;
these functions only read and write the case file, as typed rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from evidence.kinds import CandidateKind, Decision, FindingStatus
from evidence.models import Candidate, Character, Client, Finding, ReferenceImage
from evidence.store import Store


@dataclass(frozen=True)
class StoredReference:
    """A reference image as stored: its file, character, digest and fingerprint (if any)."""

    id: int
    path: str
    character: str
    sha256: str
    fingerprint: Mapping[str, Any] | None
    version: str | None


@dataclass(frozen=True)
class CharacterRow:
    id: int
    name: str
    aliases: Mapping[str, Any]


@dataclass(frozen=True)
class FlaggedModel:
    """A model candidate with a flagged finding for one character (not dismissed)."""

    finding_id: int
    score: float
    status: FindingStatus
    character: str
    kind: CandidateKind
    external_id: str
    title: str
    crawl: Mapping[str, Any]  # what the crawl parsed (``raw["crawl"]``)


def stored_references(store: Store) -> list[StoredReference]:
    with store.session() as session:
        return [
            StoredReference(
                r.id, r.path, r.character.name, r.sha256, r.fingerprint, r.fingerprint_version
            )
            for r in session.scalars(select(ReferenceImage).order_by(ReferenceImage.id))
        ]


def save_fingerprints(
    store: Store, fingerprints: Mapping[int, tuple[Mapping[str, Any] | None, str | None]]
) -> None:
    """Store ``reference id -> (fingerprint, version)`` in one transaction (None clears)."""
    if not fingerprints:
        return
    with store.session() as session:
        for row in session.scalars(
            select(ReferenceImage).where(ReferenceImage.id.in_(sorted(fingerprints)))
        ):
            fingerprint, version = fingerprints[row.id]
            row.fingerprint = dict(fingerprint) if fingerprint is not None else None
            if version is not None:
                row.fingerprint_version = version


def characters(store: Store, client: str | None = None) -> list[CharacterRow]:
    """The characters (of ``client`` when given), in id order."""
    query = select(Character).order_by(Character.id)
    if client:
        query = query.join(Client, Character.client_id == Client.id).where(Client.name == client)
    with store.session() as session:
        return [CharacterRow(c.id, c.name, dict(c.aliases or {})) for c in session.scalars(query)]


def current_fingerprints(
    store: Store, character_ids: list[int], version: str
) -> list[Mapping[str, Any]]:
    """The fingerprints of format ``version`` of those characters' references, in id order."""
    query = (
        select(ReferenceImage.fingerprint)
        .where(ReferenceImage.character_id.in_(character_ids))
        .where(ReferenceImage.fingerprint_version == version)
        .order_by(ReferenceImage.id)
    )
    with store.session() as session:
        return [dict(f) for f in session.scalars(query) if f]


def flagged_models(store: Store, character_names: Mapping[int, str]) -> list[FlaggedModel]:
    """The model candidates flagged for those characters (``id -> name``), in finding order."""
    query = (
        select(Finding, Candidate)
        .join(Candidate, Finding.candidate_id == Candidate.id)
        .where(Finding.character_id.in_(list(character_names)))
        .where(Candidate.kind == CandidateKind.MODEL)
        .where(Finding.decision == Decision.FLAG)
        .where(Finding.status != FindingStatus.DISMISSED)
        .order_by(Finding.id)
    )
    with store.session() as session:
        return [
            FlaggedModel(
                finding_id=finding.id,
                score=finding.score,
                status=finding.status,
                character=character_names[finding.character_id],
                kind=candidate.kind,
                external_id=candidate.external_id,
                title=candidate.title,
                crawl=dict((candidate.raw or {}).get("crawl") or {}),
            )
            for finding, candidate in session.execute(query)
        ]

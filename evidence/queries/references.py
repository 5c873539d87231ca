"""The reference library in the case file, and what the likeness engine is built from.

The library (``rightswatch/library.py``) mirrors watch.toml's client, characters and platforms
and takes reference images in; ``rightswatch references list`` lists them. The engine builder
(``crawler/engine_builder.py``) reads the stored references and their fingerprints, the
client's characters and the model candidates with a flagged finding. Fingerprints are
computed by those callers (``matching``); these functions only read and write the case file,
as typed rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from evidence.kinds import CandidateKind, Decision, FindingStatus, PlatformKind
from evidence.models import Candidate, Character, Client, Finding, Platform, ReferenceImage
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


# The reference library: the client, its characters, platforms and reference images ----------


@dataclass(frozen=True)
class NewReference:
    """A reference image taken in: its file, digest, size and fingerprint."""

    path: str
    sha256: str
    size_bytes: int
    width: int
    height: int
    fingerprint: Mapping[str, Any]
    version: str


@dataclass(frozen=True)
class ListedReference:
    client: str
    character: str
    path: str
    sha256: str
    size_bytes: int
    width: int
    height: int
    fingerprint: Mapping[str, Any] | None


def _client(session: Session, name: str, matter: str = "") -> Client:
    client = session.scalar(select(Client).where(Client.name == name))
    if client is None:
        client = Client(name=name, matter=matter)
        session.add(client)
        session.flush()
    elif matter and client.matter != matter:
        client.matter = matter
    return client


def _character(
    session: Session, client: Client, name: str, aliases: Mapping[str, Any] | None = None
) -> Character:
    character = session.scalar(
        select(Character).where(Character.client_id == client.id, Character.name == name)
    )
    if character is None:
        character = Character(client_id=client.id, name=name, aliases=dict(aliases or {}))
        session.add(character)
        session.flush()
    elif aliases is not None and character.aliases != dict(aliases):
        character.aliases = dict(aliases)
    return character


def mirror_client(
    store: Store,
    client: str,
    matter: str,
    characters: Sequence[tuple[str, Mapping[str, Any] | None]],
) -> int:
    """The client (with its matter) and its characters (name, aliases; None keeps the stored
    aliases), created or updated; how many characters."""
    with store.session() as session:
        owner = _client(session, client, matter)
        for name, aliases in characters:
            _character(session, owner, name, aliases)
    return len(characters)


def mirror_platforms(store: Store, platforms: Sequence[tuple[str, PlatformKind, str]]) -> int:
    """The platforms (name, kind, base URL), created or updated; how many."""
    with store.session() as session:
        for name, kind, url in platforms:
            row = session.scalar(select(Platform).where(Platform.name == name))
            if row is None:
                session.add(Platform(name=name, kind=kind, base_url=url))
            else:
                row.kind, row.base_url = kind, url
    return len(platforms)


def add_reference(store: Store, client: str, character: str, image: NewReference) -> bool:
    """Store ``image`` as a reference of ``character``; False when that character already has
    an image with the same SHA-256 (the same image is stored once)."""
    with store.session() as session:
        owner = _character(session, _client(session, client), character)
        exists = session.scalar(
            select(ReferenceImage.id).where(
                ReferenceImage.character_id == owner.id, ReferenceImage.sha256 == image.sha256
            )
        )
        if exists is not None:
            return False
        session.add(
            ReferenceImage(
                character_id=owner.id,
                path=image.path,
                sha256=image.sha256,
                size_bytes=image.size_bytes,
                width=image.width,
                height=image.height,
                hashes={},
                fingerprint=dict(image.fingerprint),
                fingerprint_version=image.version,
            )
        )
    return True


def listed_references(store: Store, character: str | None = None) -> list[ListedReference]:
    """The reference images (of ``character`` when given), by character and path."""
    query = (
        select(Client.name, Character.name, ReferenceImage)
        .join(Character, ReferenceImage.character_id == Character.id)
        .join(Client, Character.client_id == Client.id)
        .order_by(Character.name, ReferenceImage.path)
    )
    if character is not None:
        query = query.where(Character.name == character)
    with store.session() as session:
        return [
            ListedReference(
                client,
                char,
                ref.path,
                ref.sha256,
                ref.size_bytes,
                ref.width,
                ref.height,
                ref.fingerprint,
            )
            for client, char, ref in session.execute(query)
        ]

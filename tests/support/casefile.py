"""Seeding the case file with a client, character, reference, platform and finding."""

from __future__ import annotations

import hashlib
from pathlib import Path

from evidence.models import (
    Candidate,
    CandidateKind,
    Character,
    Client,
    Decision,
    Finding,
    FindingStatus,
    Platform,
    PlatformKind,
    ReferenceImage,
)
from evidence.store import Store
from tests.support.pages import png


def seed_finding(
    store: Store,
    site_url: str,
    name: str,
    reference_dir: Path,
    *,
    status: FindingStatus = FindingStatus.NEW,
) -> int:
    """A finding for the page ``{site_url}/item/{name}``; returns its id."""
    reference_dir.mkdir(parents=True, exist_ok=True)
    ref_bytes = png(64, 48, (10, 120, 200))
    ref_path = reference_dir / f"{name}-ref.png"
    ref_path.write_bytes(ref_bytes)
    with store.session() as session:
        client = session.query(Client).filter_by(name="Example Studio").one_or_none()
        if client is None:
            client = Client(name="Example Studio", matter="Moonfox monitoring 2026")
            session.add(client)
            session.flush()
        character = Character(client_id=client.id, name=f"Moonfox {name}",
                              aliases={"en": ["moon fox"], "zh": ["月狐"]})  # fmt: skip
        session.add(character)
        session.flush()
        session.add(ReferenceImage(
            character_id=character.id, path=str(ref_path),
            sha256=hashlib.sha256(ref_bytes).hexdigest(), size_bytes=len(ref_bytes),
            width=64, height=48,
        ))  # fmt: skip
        platform = session.query(Platform).filter_by(name="localgallery").one_or_none()
        if platform is None:
            platform = Platform(name="localgallery", kind=PlatformKind.GALLERY, base_url=site_url)
            session.add(platform)
            session.flush()
        candidate = Candidate(
            platform_id=platform.id, kind=CandidateKind.IMAGE, external_id=name,
            page_url=f"{site_url}/item/{name}", media_url=f"{site_url}/media/{name}.png",
            title=f"Item {name}", creator="uploader1", tags=["character", "lora"],
            raw={"placement": "home page, 推荐"},
        )  # fmt: skip
        session.add(candidate)
        session.flush()
        finding = Finding(
            candidate_id=candidate.id, character_id=character.id, score=0.91,
            decision=Decision.FLAG, status=status,
            reasons=[{"text": "perceptual hash within 6 bits of reference"},
                     "title mentions alias 'moon fox'"],
        )  # fmt: skip
        session.add(finding)
        session.flush()
        return finding.id

"""Everything known about a finding, gathered once for finding.json, reports and notices."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from evidence.dissemination import history
from evidence.exceptions import NotFound
from evidence.models import Capture, CaptureStatus, Finding, ReferenceImage
from evidence.placement import CRAWL_KEY, ItemPlacement
from evidence.wording import reason_sentences


def finding_facts(session: Session, finding_id: int) -> dict[str, Any]:
    """A JSON-ready description of the finding, its character, platform and captures."""
    finding = session.get(Finding, finding_id)
    if finding is None:
        raise NotFound("finding", finding_id)
    candidate = finding.candidate
    character = finding.character
    client = character.client
    captures = session.scalars(
        select(Capture).where(Capture.finding_id == finding_id).order_by(Capture.started_at)
    ).all()
    placement = ItemPlacement.from_raw(candidate.raw)
    listings = [
        c
        for c in session.scalars(
            select(Capture)
            .where(Capture.finding_id.is_(None), Capture.status == CaptureStatus.SEALED)
            .order_by(Capture.started_at)
        )
        if (c.meta or {}).get("placement_of") == finding_id
    ]
    crawl = (candidate.raw or {}).get(CRAWL_KEY) or {}
    references = session.scalars(
        select(ReferenceImage).where(ReferenceImage.character_id == character.id)
    ).all()
    return {
        "finding": {
            "id": finding.id,
            "status": finding.status.value,
            "status_reason": finding.status_reason,
            "reviewer": finding.reviewer,
            "score": finding.score,
            "decision": finding.decision.value,
            "reasons": list(finding.reasons),
            "reason_sentences": [
                {"en": r.en, "zh": r.zh} for r in reason_sentences(finding.reasons)
            ],
            "reference": finding.reference,
            "created_at": finding.created_at.isoformat(),
        },
        "client": {"name": client.name, "matter": client.matter},
        "character": {"name": character.name, "aliases": dict(character.aliases)},
        "platform": {
            "name": candidate.platform.name,
            "kind": candidate.platform.kind.value,
            "base_url": candidate.platform.base_url,
        },
        "item": {
            "kind": candidate.kind.value,
            "external_id": candidate.external_id,
            "page_url": candidate.page_url,
            "media_url": candidate.media_url,
            "title": candidate.title,
            "creator": candidate.creator,
            "tags": list(candidate.tags),
            "placement": placement.to_json() if placement else None,
            "placement_sentence": (
                {"en": placement.sentence().en, "zh": placement.sentence().zh}
                if placement
                else None
            ),
            "first_seen": candidate.first_seen.isoformat(),
            "last_seen": candidate.last_seen.isoformat(),
            "sha256": candidate.sha256,
        },
        "model": model_facts(crawl) if candidate.kind.value == "model" else None,
        "dissemination": {
            "counts": dict(crawl.get("stats") or {}),
            "observed_at": crawl.get("fetched_at"),
            "history": history(candidate.raw),
            "first_seen": candidate.first_seen.isoformat(),
            "last_seen": candidate.last_seen.isoformat(),
        },
        "references": [
            {"id": r.id, "path": r.path, "sha256": r.sha256, "bytes": r.size_bytes}
            for r in references
        ],
        "captures": [
            {
                "id": c.id,
                "capture_id": c.meta.get("capture_id"),
                "kind": c.kind.value,
                "status": c.status.value,
                "url": c.url,
                "started_at": c.started_at.isoformat(),
                "finished_at": c.finished_at.isoformat() if c.finished_at else None,
                "http_status": c.http_status,
                "manifest_sha256": c.manifest_sha256,
                "timestamps": list(c.timestamps),
                "directory": c.bundle_path,
                "error": c.error,
                "previous": c.previous_id,
            }
            for c in captures
        ],
        "placement_captures": [
            {
                "id": c.id,
                "capture_id": c.meta.get("capture_id"),
                "url": c.url,
                "started_at": c.started_at.isoformat(),
                "manifest_sha256": c.manifest_sha256,
                "timestamps": list(c.timestamps),
                "directory": c.bundle_path,
            }
            for c in listings
        ],
        "notices": [
            {
                "id": n.id,
                "template": n.template.value,
                "created_at": n.created_at.isoformat(),
                "recipient": n.recipient,
                "sha256": n.sha256,
            }
            for n in sorted(finding.notices, key=lambda n: n.created_at)
        ],
        "sealed_statuses": [CaptureStatus.SEALED.value, CaptureStatus.REMOVED.value],
    }


def model_facts(crawl: dict[str, Any]) -> dict[str, Any]:
    """A model's file hashes (SHA-256, AutoV2 …), safetensors header and trigger words."""
    return {
        "files": list(crawl.get("files") or []),
        "safetensors": list(crawl.get("safetensors") or []),
        "header_errors": list(crawl.get("header_errors") or []),
        "trigger_words": list(crawl.get("trigger_words") or []),
        "base_model": crawl.get("base_model"),
    }

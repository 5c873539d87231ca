"""What earlier runs saw: the basis of incremental crawling.

A :class:`SeenIndex` maps ``(kind, external_id)`` to the content fingerprint stored for that
candidate. A listing sorted newest-first stops paging at the first run of already-seen items
(unless ``--full``); an item whose fingerprint is unchanged only gets its last-seen time updated.

The fingerprint covers what the platform says about the item (titles, tags, trigger words,
media, files, licence and takedown state), not counters such as downloads or likes, which
change on every visit.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from crawler.items import Candidate, CandidateKind, ModelCandidate


def fingerprint(item: Candidate) -> str:
    doc: dict[str, object] = {
        "title": item.title,
        "description": item.description,
        "tags": sorted(item.tags),
        "creator": item.creator,
        "media": list(item.media_urls),
        "licence": [
            item.licence.licence,
            item.licence.allow_no_credit,
            list(item.licence.allow_commercial_use),
            item.licence.allow_derivatives,
            item.licence.allow_different_licence,
            item.licence.mode,
        ],
    }
    if isinstance(item, ModelCandidate):
        doc["trigger"] = list(item.trigger_words)
        doc["versions"] = list(item.version_ids)
        doc["files"] = sorted(f.sha256 or f.name for f in item.files)
    else:
        doc["prompt"] = item.prompt
    text = json.dumps(doc, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class SeenIndex:
    """Fingerprints of the candidates already stored for one platform."""

    platform: str
    entries: dict[tuple[str, str], str] = field(default_factory=dict)

    def seen(self, kind: CandidateKind, external_id: str) -> bool:
        return (kind.value, external_id) in self.entries

    def unchanged(self, item: Candidate) -> bool:
        stored = self.entries.get((item.kind.value, item.external_id))
        return stored is not None and stored == fingerprint(item)

    def remember(self, item: Candidate) -> None:
        self.entries[(item.kind.value, item.external_id)] = fingerprint(item)


class StopRule:
    """Ends a newest-first listing after ``run_length`` consecutive already-seen items."""

    def __init__(self, run_length: int, enabled: bool) -> None:
        self.run_length = max(run_length, 1)
        self.enabled = enabled
        self.streak = 0

    def observe(self, already_seen: bool) -> None:
        self.streak = self.streak + 1 if already_seen else 0

    @property
    def stop(self) -> bool:
        return self.enabled and self.streak >= self.run_length

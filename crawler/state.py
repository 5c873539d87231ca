"""What earlier runs saw: the basis of incremental crawling.

A :class:`SeenIndex` maps ``(kind, external_id)`` to the content fingerprint stored for that
candidate. A listing sorted newest-first stops paging at the first run of already-seen items
(unless ``--full``); an item whose fingerprint is unchanged only gets its last-seen time updated.

The fingerprint (:func:`crawler.items.content_fingerprint`) covers what the platform says about
the item, not counters such as downloads or likes; each item carries its own, computed once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from crawler.items import Candidate, CandidateKind


@dataclass
class SeenIndex:
    """Fingerprints of the candidates already stored for one platform."""

    platform: str
    entries: dict[tuple[str, str], str] = field(default_factory=dict)

    def seen(self, kind: CandidateKind, external_id: str) -> bool:
        return (kind.value, external_id) in self.entries

    def unchanged(self, item: Candidate) -> bool:
        stored = self.entries.get((item.kind.value, item.external_id))
        return stored is not None and stored == item.fingerprint


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

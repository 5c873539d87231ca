"""A case-file feeder: fills a store with characters, references, runs, candidates and findings.

Generic on purpose, for any test that needs a populated database::

    feeder = CaseFeeder(store, tmp_path)
    hero = feeder.character("Hero", references=2)
    civitai = feeder.platform("civitai")
    finding = feeder.finding(hero, civitai, title="Hero LoRA", score=0.93)
    feeder.capture(finding)            # a capture directory with screenshots and media

``sample(feeder)`` lays out a ready-made queue (two characters, two platforms, thirty findings
over a week, one model titled with the sandbox's ``<script>`` fault).

Images are small deterministic PNGs drawn with Pillow, so nothing is downloaded.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

from evidence.models import (
    Candidate,
    CandidateKind,
    Capture,
    CaptureKind,
    CaptureStatus,
    Character,
    Client,
    CrawlRun,
    Decision,
    Finding,
    FindingStatus,
    Platform,
    PlatformKind,
    ReferenceImage,
    RunStatus,
)
from evidence.store import Store
from tests.support.pages import png

# the title the sandbox's ``script-title`` fault gives a model (sandbox/world.py)
SCRIPT_TITLE = '<script>alert("sandbox")</script> Hero LoRA'
BASE_TIME = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def draw_image(path: Path, seed: int, size: tuple[int, int] = (96, 96)) -> Path:
    """A deterministic PNG of coloured shapes; the same seed gives the same bytes."""
    rng = random.Random(seed)
    img = Image.new("RGB", size, tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(img)
    for _ in range(6):
        x0, y0 = rng.randrange(size[0] - 10), rng.randrange(size[1] - 10)
        x1, y1 = x0 + rng.randrange(8, size[0] // 2), y0 + rng.randrange(8, size[1] // 2)
        draw.rectangle((x0, y0, x1, y1), fill=tuple(rng.randrange(256) for _ in range(3)))
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, format="PNG")
    return path


@dataclass
class CaseFeeder:
    """Adds rows to ``store``; files go under ``root`` (evidence under ``root/evidence``)."""

    store: Store
    root: Path
    client_name: str = "Example Studio"
    _seed: int = field(default=0, repr=False)

    @property
    def evidence(self) -> Path:
        return self.root / "evidence"

    def _next_seed(self) -> int:
        self._seed += 1
        return self._seed

    def _client(self, session: Any) -> Client:
        client = session.query(Client).filter_by(name=self.client_name).one_or_none()
        if client is None:
            client = Client(name=self.client_name, matter="look-alike monitoring")
            session.add(client)
            session.flush()
        return client

    def character(
        self, name: str, *, references: int = 1, aliases: dict[str, Any] | None = None
    ) -> int:
        """A character with ``references`` reference images drawn on disk; returns its id."""
        with self.store.session() as session:
            char = Character(client_id=self._client(session).id, name=name, aliases=aliases or {})
            session.add(char)
            session.flush()
            for i in range(references):
                path = draw_image(
                    self.root / "references" / name / f"ref-{i}.png", self._next_seed()
                )
                data = path.read_bytes()
                session.add(
                    ReferenceImage(
                        character_id=char.id,
                        path=str(path.resolve()),
                        sha256=hashlib.sha256(data).hexdigest(),
                        size_bytes=len(data),
                        width=96,
                        height=96,
                        hashes={},
                    )
                )
            return char.id

    def platform(self, name: str, kind: PlatformKind = PlatformKind.CIVITAI) -> int:
        with self.store.session() as session:
            row = Platform(name=name, kind=kind, base_url=f"https://{name}.example")
            session.add(row)
            session.flush()
            return row.id

    def run(
        self,
        *,
        started_at: datetime = BASE_TIME,
        status: RunStatus = RunStatus.SUCCEEDED,
        platforms: list[str] | None = None,
        stats: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> int:
        with self.store.session() as session:
            row = CrawlRun(
                started_at=started_at,
                finished_at=started_at + timedelta(minutes=7),
                status=status,
                platforms=platforms or [],
                stats=stats or {},
                error=error,
            )
            session.add(row)
            session.flush()
            return row.id

    def finding(
        self,
        character_id: int,
        platform_id: int,
        *,
        title: str = "Look-alike",
        score: float = 0.9,
        kind: CandidateKind = CandidateKind.IMAGE,
        creator: str | None = "uploader1",
        tags: list[str] | None = None,
        licence: dict[str, Any] | None = None,
        raw: dict[str, Any] | None = None,
        crawl: dict[str, Any] | None = None,
        reasons: list[dict[str, Any]] | None = None,
        status: FindingStatus = FindingStatus.NEW,
        created_at: datetime = BASE_TIME,
        run_id: int | None = None,
        stored_media: bool = True,
        media_url: str | None = None,
    ) -> int:
        """A candidate and its finding. ``raw`` is the platform's JSON and ``crawl`` what the
        crawl parsed, stored as the crawler does (``{"platform": raw, "crawl": crawl}``); with
        ``stored_media`` the image is written below the evidence folder and named in
        ``crawl["media_path"]`` (relative to the evidence folder, so a copied case file keeps
        working)."""
        seed = self._next_seed()
        facts = dict(crawl or {})
        if stored_media:
            name = f"media/candidate-{seed}.png"
            draw_image(self.evidence / name, seed)
            facts["media_path"] = name
        with self.store.session() as session:
            cand = Candidate(
                platform_id=platform_id,
                kind=kind,
                external_id=str(1000 + seed),
                page_url=f"https://platform.example/{kind.value}s/{1000 + seed}",
                media_url=media_url,
                title=title,
                creator=creator,
                tags=tags if tags is not None else ["anime", "lora"],
                licence=licence if licence is not None else {"allow_commercial_use": ["Image"]},
                raw={"platform": dict(raw or {}), "crawl": facts},
                first_seen=created_at,
                last_seen=created_at,
                run_id=run_id,
            )
            session.add(cand)
            session.flush()
            row = Finding(
                candidate_id=cand.id,
                character_id=character_id,
                score=score,
                decision=Decision.FLAG if score >= 0.8 else Decision.REVIEW,
                reasons=reasons
                if reasons is not None
                else [{"kind": "pdq", "value": 12, "sentence": "PDQ distance 12 of 256"}],
                status=status,
                created_at=created_at,
                run_id=run_id,
            )
            session.add(row)
            session.flush()
            return row.id

    def capture(
        self,
        finding_id: int,
        *,
        status: CaptureStatus = CaptureStatus.SEALED,
        started_at: datetime = BASE_TIME,
        bundle: Path | None = None,
    ) -> int:
        """A capture row; without ``bundle`` a capture directory with screenshots and media is
        drawn below the evidence folder (unsealed files: verification reports what it finds)."""
        seed = self._next_seed()
        folder = bundle or self.evidence / "captures" / f"capture-{seed}"
        if bundle is None:
            draw_image(folder / "screenshot-viewport.png", seed, (160, 100))
            draw_image(folder / "screenshot-full.png", seed, (160, 240))
            draw_image(folder / "media" / "00-image.png", seed + 1)
        with self.store.session() as session:
            row = Capture(
                finding_id=finding_id,
                url=f"https://platform.example/capture/{seed}",
                kind=CaptureKind.INITIAL,
                status=status,
                started_at=started_at,
                finished_at=started_at + timedelta(seconds=9),
                http_status=200,
                bundle_path=str(folder),
                manifest_sha256=hashlib.sha256(str(folder).encode()).hexdigest(),
                timestamps=[{"tsa": "http://127.0.0.1/tsa", "gen_time": started_at.isoformat()}],
            )
            session.add(row)
            session.flush()
            return row.id


@dataclass(frozen=True)
class Sample:
    characters: dict[str, int]
    platforms: dict[str, int]
    findings: list[int]
    script_finding: int
    top_finding: int


def sample(feeder: CaseFeeder, *, findings: int = 30) -> Sample:
    """Two characters, two platforms, three runs and ``findings`` findings over a week."""
    chars = {"Hero": feeder.character("Hero", references=2), "Villain": feeder.character("Villain")}
    plats = {
        "civitai": feeder.platform("civitai"),
        "huggingface": feeder.platform("huggingface", PlatformKind.HUGGINGFACE),
    }
    runs = [
        feeder.run(
            started_at=BASE_TIME + timedelta(days=d), platforms=list(plats), stats={"items": 40}
        )
        for d in (0, 3, 6)
    ]
    ids = []
    for i in range(findings):
        char = "Hero" if i % 3 else "Villain"
        plat = "civitai" if i % 2 else "huggingface"
        ids.append(
            feeder.finding(
                chars[char],
                plats[plat],
                title=f"{char} fan art #{i}",
                score=round(0.5 + (i * 7 % 49) / 100, 2),
                creator=f"artist{i % 5}",
                created_at=BASE_TIME + timedelta(days=i % 7, hours=i),
                run_id=runs[(i % 7) // 3],
                crawl={"discovery": {"placement": "search", "rank": i + 1, "term": char.lower()}},
            )
        )
    script = feeder.finding(
        chars["Hero"],
        plats["civitai"],
        title=SCRIPT_TITLE,
        kind=CandidateKind.MODEL,
        score=0.99,
        creator='<img src=x onerror=alert("creator")>',
        tags=["<b>bold</b>", "hero"],
        raw={"modelVersions": [{"trainedWords": ["<script>alert(1)</script>"]}]},
        crawl={
            "trigger_words": ["<script>alert(1)</script>", "examplehero"],
            "discovery": {"placement": "home", "rank": 1},
        },
        reasons=[
            {"kind": "alias", "value": 1.0, "sentence": 'Title contains alias "hero"'},
            {
                "kind": "local_features",
                "value": 41,
                "sentence": "41 matching keypoints over a region covering 40 % of the image",
                "region": [0.1, 0.2, 0.6, 0.9],
            },
        ],
        created_at=BASE_TIME + timedelta(days=6, hours=2),
        run_id=runs[2],
    )
    ids.append(script)
    top = max(ids[:-1], key=lambda fid: _score(feeder.store, fid))
    return Sample(chars, plats, ids, script, top)


def _score(store: Store, finding_id: int) -> float:
    with store.session() as session:
        row = session.get(Finding, finding_id)
        assert row is not None
        return row.score


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
            raw={"crawl": {"discovery": {"placement": "home", "rank": 3, "term": None,
                                         "listing_url": f"{site_url}/listing?items=a1,b2,"
                                                        f"{name},c3"}}},
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


def candidate_from_crawl(
    store: Store,
    item: Any,
    platform_id: int,
    character_id: int,
    *,
    score: float = 0.95,
    reasons: list[dict[str, Any]] | None = None,
) -> int:
    """Record a crawler item (``crawler.items.ImageCandidate``/``ModelCandidate``, e.g. parsed
    from a sandbox listing) as the record pipeline stores it, with a finding; returns its id."""
    from dataclasses import asdict

    from crawler.pipelines.record import crawl_facts

    with store.session() as session:
        cand = Candidate(
            platform_id=platform_id,
            kind=CandidateKind(item.kind.value),
            external_id=item.external_id,
            page_url=item.page_url,
            media_url=item.media_urls[0] if item.media_urls else None,
            title=item.title or "",
            creator=item.creator,
            tags=list(item.tags),
            licence=asdict(item.licence),
            raw={"platform": dict(item.raw), "crawl": crawl_facts(item)},
            first_seen=item.fetched_at,
            last_seen=item.fetched_at,
        )
        session.add(cand)
        session.flush()
        row = Finding(
            candidate_id=cand.id,
            character_id=character_id,
            score=score,
            decision=Decision.FLAG,
            reasons=reasons or [{"kind": "alias", "value": 1.0, "sentence": "title alias"}],
        )
        session.add(row)
        session.flush()
        return row.id

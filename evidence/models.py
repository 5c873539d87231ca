"""The case file: SQLAlchemy 2.0 typed models.

One client has characters; each character has reference images. Crawl runs find candidates
(an image or a model on a platform); a candidate that resembles a character becomes a finding.
Findings collect captures (sealed evidence), custody events and notices.

Every timestamp is stored and returned as an aware UTC datetime, whatever the backend.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from evidence.kinds import (
    CandidateKind,
    CandidateState,
    CaptureKind,
    CaptureStatus,
    Decision,
    FindingStatus,
    NoticeTemplate,
    PlatformKind,
    RunStatus,
)

# The enums live in evidence.kinds (free of SQLAlchemy); they are exported here too for the
# modules that import them with the models. New code imports them from evidence.kinds.
__all__ = [
    "Base",
    "Candidate",
    "CandidateKind",
    "CandidateState",
    "Capture",
    "CaptureKind",
    "CaptureStatus",
    "Character",
    "Client",
    "CrawlRun",
    "CustodyEvent",
    "Decision",
    "Finding",
    "FindingStatus",
    "Lease",
    "Notice",
    "NoticeTemplate",
    "Platform",
    "PlatformKind",
    "ReferenceImage",
    "RunStatus",
    "UTCDateTime",
    "utcnow",
]

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A datetime stored as UTC and always read back aware.

    SQLite keeps no zone; PostgreSQL's timestamptz does. Naive input is refused rather than
    guessed, so no local time slips into the case file.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: case-file times must be timezone-aware")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime,
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


def _enum(cls: type[enum.Enum]) -> Enum:
    """Store an enum by its value, as a plain string column (portable, readable)."""
    return Enum(
        cls,
        native_enum=False,
        validate_strings=True,
        length=32,
        values_callable=lambda e: [m.value for m in e],
    )


class Client(Base):
    __tablename__ = "client"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    matter: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    characters: Mapped[list[Character]] = relationship(back_populates="client")


class Character(Base):
    __tablename__ = "character"
    __table_args__ = (UniqueConstraint("client_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    # language code -> aliases, e.g. {"en": ["hero"], "zh": ["英雄", "yingxiong"]}
    aliases: Mapped[dict[str, Any]] = mapped_column(default=dict)

    client: Mapped[Client] = relationship(back_populates="characters")
    references: Mapped[list[ReferenceImage]] = relationship(back_populates="character")


class ReferenceImage(Base):
    __tablename__ = "reference_image"
    __table_args__ = (UniqueConstraint("character_id", "sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    character_id: Mapped[int] = mapped_column(
        ForeignKey("character.id", ondelete="CASCADE"), index=True
    )
    path: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    # quick global hashes by name (hex strings), e.g. {"phash": "...", "dhash": "..."}
    hashes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # the likeness engine's full fingerprint (JSON), rebuilt when its format version changes
    fingerprint: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    fingerprint_version: Mapped[str | None] = mapped_column(String(32), default=None)
    added_at: Mapped[datetime] = mapped_column(default=utcnow)

    character: Mapped[Character] = relationship(back_populates="references")


class Platform(Base):
    __tablename__ = "platform"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[PlatformKind] = mapped_column(_enum(PlatformKind))
    base_url: Mapped[str] = mapped_column(Text)


class CrawlRun(Base):
    __tablename__ = "crawl_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    status: Mapped[RunStatus] = mapped_column(_enum(RunStatus), default=RunStatus.RUNNING)
    platforms: Mapped[list[Any]] = mapped_column(default=list)
    stats: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    config_path: Mapped[str | None] = mapped_column(Text, default=None)
    warc_path: Mapped[str | None] = mapped_column(Text, default=None)
    host: Mapped[str | None] = mapped_column(String(255), default=None)
    pid: Mapped[int | None] = mapped_column(Integer, default=None)


class Candidate(Base):
    """An image or model seen on a platform. Ids are per platform and per kind: on Civitai
    model 42 and image 42 are different things."""

    __tablename__ = "candidate"
    __table_args__ = (
        UniqueConstraint("platform_id", "kind", "external_id"),
        Index("ix_candidate_sha256", "sha256"),
        Index("ix_candidate_last_seen", "last_seen"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platform.id", ondelete="CASCADE"))
    kind: Mapped[CandidateKind] = mapped_column(_enum(CandidateKind))
    external_id: Mapped[str] = mapped_column(String(255))
    state: Mapped[CandidateState] = mapped_column(
        _enum(CandidateState), default=CandidateState.STORED
    )
    state_reason: Mapped[str | None] = mapped_column(Text, default=None)
    page_url: Mapped[str] = mapped_column(Text)
    media_url: Mapped[str | None] = mapped_column(Text, default=None)
    title: Mapped[str] = mapped_column(Text, default="")
    creator: Mapped[str | None] = mapped_column(String(255), default=None)
    tags: Mapped[list[Any]] = mapped_column(default=list)
    licence: Mapped[dict[str, Any]] = mapped_column(default=dict)
    raw: Mapped[dict[str, Any]] = mapped_column(default=dict)
    sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    hashes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    first_seen: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(default=utcnow)
    warc_file: Mapped[str | None] = mapped_column(Text, default=None)
    warc_record_id: Mapped[str | None] = mapped_column(String(100), default=None)
    run_id: Mapped[int | None] = mapped_column(
        ForeignKey("crawl_run.id", ondelete="SET NULL"), default=None
    )

    platform: Mapped[Platform] = relationship()
    findings: Mapped[list[Finding]] = relationship(back_populates="candidate")


class Finding(Base):
    """A candidate that resembles one of the client's characters."""

    __tablename__ = "finding"
    __table_args__ = (
        UniqueConstraint("candidate_id", "character_id"),
        Index("ix_finding_status_score", "status", "score"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidate.id", ondelete="CASCADE"))
    character_id: Mapped[int] = mapped_column(
        ForeignKey("character.id", ondelete="CASCADE"), index=True
    )
    score: Mapped[float] = mapped_column(Float)
    decision: Mapped[Decision] = mapped_column(_enum(Decision))
    reasons: Mapped[list[Any]] = mapped_column(default=list)
    reference: Mapped[str | None] = mapped_column(Text, default=None)
    status: Mapped[FindingStatus] = mapped_column(_enum(FindingStatus), default=FindingStatus.NEW)
    status_reason: Mapped[str | None] = mapped_column(Text, default=None)
    reviewer: Mapped[str | None] = mapped_column(String(200), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    run_id: Mapped[int | None] = mapped_column(
        ForeignKey("crawl_run.id", ondelete="SET NULL"), default=None
    )

    candidate: Mapped[Candidate] = relationship(back_populates="findings")
    character: Mapped[Character] = relationship()
    captures: Mapped[list[Capture]] = relationship(
        back_populates="finding", order_by="Capture.started_at"
    )
    notices: Mapped[list[Notice]] = relationship(back_populates="finding")


class Capture(Base):
    """One capture of a page: sealed evidence, or a failure with its reason."""

    __tablename__ = "capture"
    __table_args__ = (Index("ix_capture_idempotency_key", "idempotency_key", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    finding_id: Mapped[int | None] = mapped_column(
        ForeignKey("finding.id", ondelete="SET NULL"), index=True, default=None
    )
    previous_id: Mapped[int | None] = mapped_column(
        ForeignKey("capture.id", ondelete="SET NULL"), default=None
    )
    url: Mapped[str] = mapped_column(Text)
    kind: Mapped[CaptureKind] = mapped_column(_enum(CaptureKind), default=CaptureKind.INITIAL)
    status: Mapped[CaptureStatus] = mapped_column(
        _enum(CaptureStatus), default=CaptureStatus.PENDING
    )
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    http_status: Mapped[int | None] = mapped_column(Integer, default=None)
    bundle_path: Mapped[str | None] = mapped_column(Text, default=None)
    manifest_sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    timestamps: Mapped[list[Any]] = mapped_column(default=list)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # unique when set: one capture per finding and time slot across workers (see 0003)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), default=None)

    finding: Mapped[Finding | None] = relationship(back_populates="captures")


class CustodyEvent(Base):
    """One entry of the append-only, hash-chained custody log."""

    __tablename__ = "custody_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    event: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(200))
    finding_id: Mapped[int | None] = mapped_column(
        ForeignKey("finding.id", ondelete="SET NULL"), index=True, default=None
    )
    capture_id: Mapped[int | None] = mapped_column(
        ForeignKey("capture.id", ondelete="SET NULL"), index=True, default=None
    )
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64), unique=True)


class Notice(Base):
    __tablename__ = "notice"

    id: Mapped[int] = mapped_column(primary_key=True)
    finding_id: Mapped[int] = mapped_column(
        ForeignKey("finding.id", ondelete="CASCADE"), index=True
    )
    template: Mapped[NoticeTemplate] = mapped_column(_enum(NoticeTemplate))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    recipient: Mapped[str | None] = mapped_column(String(255), default=None)
    path: Mapped[str | None] = mapped_column(Text, default=None)
    sha256: Mapped[str | None] = mapped_column(String(64), default=None)

    finding: Mapped[Finding] = relationship(back_populates="notices")


class Lease(Base):
    """A named, expiring lock held by one process; see ``evidence.lease``."""

    __tablename__ = "lease"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    acquired_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()

"""The watch configuration (``watch.toml``): one typed model, unknown keys rejected.

Every default lives here. A bad file raises :class:`ConfigError` naming the file, the key and
what is wrong; the CLI prints that one line and exits with status 2.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from crawler.exceptions import CrawlConfigError
from crawler.gallery import profiles
from crawler.gallery.adapter import GalleryAdapter
from evidence.guard import HostEntry
from evidence.kinds import PlatformKind
from rightswatch.errors import ConfigError

DEFAULT_CONFIG = Path("watch.toml")
CONFIG_ENV = "RIGHTSWATCH_CONFIG"

DEFAULT_BASE_URLS: dict[PlatformKind, str] = {
    PlatformKind.CIVITAI: "https://civitai.com",
    PlatformKind.HUGGINGFACE: "https://huggingface.co",
    PlatformKind.GALLERY: "https://tensor.art",
}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ClientConfig(_Model):
    name: str = Field(min_length=1)
    matter: str = ""


class CharacterConfig(_Model):
    name: str = Field(min_length=1)
    # language code -> aliases, e.g. {"en": ["hero"], "zh": ["英雄", "yingxiong"]}
    aliases: dict[str, list[str]] = Field(default_factory=dict)
    # folders (or files) of reference images, relative to the config file
    references: list[Path] = Field(default_factory=list)
    # creators licensed by the client: their uploads are never flagged
    allowlist: list[str] = Field(default_factory=list)

    def all_aliases(self) -> list[str]:
        seen: dict[str, None] = {self.name: None}
        for names in self.aliases.values():
            for name in names:
                seen.setdefault(name, None)
        return list(seen)


class Politeness(_Model):
    concurrency: Annotated[int, Field(ge=1, le=32)] = 2
    delay_seconds: Annotated[float, Field(ge=0, le=600)] = 1.0
    autothrottle: bool = True
    # robots.txt for pages (HTML, browser renders); documented APIs follow api_access
    obey_robots_txt: bool = True
    # "api-terms": the documented API is called with the operator's token under the
    # platform's API terms; "robots": API requests obey robots.txt too. Default per kind:
    # civitai and huggingface "api-terms", gallery "robots".
    api_access: Literal["api-terms", "robots"] | None = None
    # the longest a 429 / RateLimit reset may pause a host before requests give up
    max_pause_seconds: Annotated[float, Field(gt=0, le=3600)] = 600.0
    retries: Annotated[int, Field(ge=0, le=20)] = 3
    timeout_seconds: Annotated[float, Field(gt=0, le=600)] = 60.0
    max_media_bytes: Annotated[int, Field(gt=0)] = 20 * 1024 * 1024


class PlatformConfig(_Model):
    name: str = Field(min_length=1, pattern=r"^[a-z0-9][a-z0-9_-]*$")
    kind: PlatformKind
    base_url: AnyHttpUrl | None = None
    enabled: bool = True
    # searched besides every character alias
    search_terms: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    max_items: Annotated[int, Field(ge=1)] | None = None
    # extra hosts the platform serves media from (CDNs): a name, name:port, or a pattern such
    # as "*.r2.cloudflarestorage.com"; a literal address (127.0.0.2:8001) may be local
    allowed_hosts: list[str] = Field(default_factory=list)
    politeness: Politeness = Field(default_factory=Politeness)
    # Civitai: model types listed (default LORA, LoCon, DoRA, TextualInversion), the images'
    # browsingLevel bitmask with a token (1 PG, 2 PG-13, 4 R, 8 X, 16 XXX; default 31 = all),
    # and page caps; Hugging Face: base models whose adapters are listed.
    model_types: list[str] | None = None
    browsing_level: Annotated[int, Field(ge=1, le=31)] = 31
    # Civitai: pages of the "recent images" listing read per run
    recent_pages: Annotated[int, Field(ge=0, le=100)] = 2
    recent_model_pages: Annotated[int, Field(ge=0, le=100)] = 3
    version_image_pages: Annotated[int, Field(ge=0, le=100)] = 1
    creator_image_pages: Annotated[int, Field(ge=0, le=100)] = 1
    base_models: list[str] | None = None
    # galleries (kind = "gallery"): a built-in profile (crawler/gallery/profiles/) and/or the
    # adapter keys of docs/crawler.md "Adding a gallery site", overriding the profile's
    profile: str | None = None
    gallery: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _gallery_adapter(self) -> PlatformConfig:
        if self.kind is not PlatformKind.GALLERY:
            if self.profile or self.gallery:
                raise ValueError("profile and gallery apply to kind = 'gallery' only")
            return self
        try:
            self.adapter()
        except CrawlConfigError as exc:
            raise ValueError(str(exc)) from None
        return self

    def adapter(self) -> GalleryAdapter:
        """The gallery adapter: the profile (if any) with this platform's overrides."""
        if not self.profile and not self.gallery:
            raise CrawlConfigError(
                f"a gallery needs profile = one of {', '.join(profiles.names())}, "
                "or a [platforms.gallery] table"
            )
        return profiles.resolve(self.profile, self.gallery, "gallery")

    @field_validator("allowed_hosts")
    @classmethod
    def _host_entries(cls, value: list[str]) -> list[str]:
        for entry in value:
            HostEntry.parse(entry)  # a ValueError names the entry
        return value

    @property
    def url(self) -> str:
        if self.base_url is None and self.profile:
            known = profiles.base_url(self.profile)
            if known:
                return known.rstrip("/")
        return str(self.base_url or DEFAULT_BASE_URLS[self.kind]).rstrip("/")


class Thresholds(_Model):
    """Scores are in [0, 1]. At or above ``flag`` a finding is flagged; between ``review`` and
    ``flag`` it waits for a person; evidence is captured automatically at ``capture``."""

    flag: Annotated[float, Field(ge=0, le=1)] = 0.8
    review: Annotated[float, Field(ge=0, le=1)] = 0.5
    capture: Annotated[float, Field(ge=0, le=1)] = 0.8

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        if not self.review <= self.flag:
            raise ValueError(f"review ({self.review}) must not exceed flag ({self.flag})")
        return self


class MatchingConfig(_Model):
    """Optional likeness-engine inputs beyond hashes and local features."""

    # an ONNX image encoder the user supplies (CLIP, DINOv2…; docs/matching.md says how to
    # export one); the project never downloads weights
    embedding_model: Path | None = None
    # the mean/std the encoder was trained with
    embedding_normalisation: Literal["clip", "imagenet"] = "imagenet"
    # a folder of images that show none of the characters, to calibrate the embedding against
    embedding_innocent: Path | None = None
    # a picture that names a character's LoRA (its generation data) but whose pixels show no
    # likeness to the character's references: "ignore" (not reported: "resembles" needs a
    # measured likeness) or "review" (a person looks at every such picture)
    provenance_alone: Literal["ignore", "review"] = "ignore"


class EvidenceConfig(_Model):
    folder: Path = Path("rightswatch-data/evidence")
    tsa_urls: list[AnyHttpUrl] = Field(
        default_factory=lambda: [AnyHttpUrl("https://freetsa.org/tsr")]
    )
    # PEM files of the TSAs' root certificates, in the order of tsa_urls (empty: system roots)
    tsa_ca_files: list[Path] = Field(default_factory=list)
    signing_key: Path = Path("rightswatch-data/keys/operator.key")
    operator: str = Field(default_factory=lambda: os.environ.get("USER", "operator"))
    timezone: str = "Asia/Shanghai"
    # verify: a capture's recorded start/end and each custody anchor must lie this close to the
    # TSA's time (seconds, plus the TSA's stated accuracy)
    time_tolerance_s: Annotated[float, Field(gt=0)] = 600.0
    # a flagged model's own file is captured and sealed when no larger than this (bytes)
    model_file_max_bytes: Annotated[int, Field(ge=0)] = 64 * 1024 * 1024
    # a monitoring run seals at most this many new findings; the rest wait for the next run
    max_captures_per_run: Annotated[int, Field(ge=0)] = 50


class ScheduleConfig(_Model):
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    job: Literal["monitor", "recheck"] = "monitor"
    cron: str
    platforms: list[str] = Field(default_factory=list)

    @field_validator("cron")
    @classmethod
    def _five_fields(cls, value: str) -> str:
        if len(value.split()) != 5:
            raise ValueError(f"cron {value!r} must have five fields: minute hour day month weekday")
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(value)
        except ValueError as exc:
            raise ValueError(f"cron {value!r}: {exc}") from exc
        return value


class RecheckConfig(_Model):
    interval_days: Annotated[float, Field(gt=0)] = 7.0
    # a page still present this many days after the notice is marked persisting
    persisting_after_days: Annotated[float, Field(gt=0)] = 14.0


class EmailConfig(_Model):
    smtp_host: str
    smtp_port: int = 587
    starttls: bool = True
    username: str | None = None
    password_env: str | None = None
    sender: str
    recipients: list[str] = Field(min_length=1)


class NotificationsConfig(_Model):
    webhook_url: AnyHttpUrl | None = None
    email: EmailConfig | None = None


class DatabaseConfig(_Model):
    url: str | None = None


class CrawlerConfig(_Model):
    # who to contact about the crawler: sent in every request's User-Agent. A crawl of a
    # real (non-local) site refuses to start until it is set.
    contact: str = ""


class WatchConfig(_Model):
    client: ClientConfig
    characters: list[CharacterConfig] = Field(min_length=1)
    platforms: list[PlatformConfig] = Field(default_factory=list)
    thresholds: Thresholds = Field(default_factory=Thresholds)
    matching: MatchingConfig = Field(default_factory=MatchingConfig)
    evidence: EvidenceConfig = Field(default_factory=EvidenceConfig)
    schedules: list[ScheduleConfig] = Field(default_factory=list)
    recheck: RecheckConfig = Field(default_factory=RecheckConfig)
    notifications: NotificationsConfig = Field(default_factory=NotificationsConfig)
    database: DatabaseConfig = Field(default_factory=DatabaseConfig)
    crawler: CrawlerConfig = Field(default_factory=CrawlerConfig)
    # the folder relative paths are resolved against (the config file's folder)
    root: Path = Field(default=Path(), exclude=True)

    @model_validator(mode="after")
    def _unique_names(self) -> WatchConfig:
        for label, names in (
            ("characters", [c.name for c in self.characters]),
            ("platforms", [p.name for p in self.platforms]),
            ("schedules", [s.name for s in self.schedules]),
        ):
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                raise ValueError(f"{label}: duplicate name {dupes[0]!r}")
        return self

    def resolve(self, path: Path) -> Path:
        """A path from the config, made absolute against the config file's folder."""
        return path if path.is_absolute() else (self.root / path)

    def platform(self, name: str) -> PlatformConfig:
        for p in self.platforms:
            if p.name == name:
                return p
        known = ", ".join(p.name for p in self.platforms) or "none"
        raise ConfigError(f"no platform named {name!r} in the config (configured: {known})")


def config_path(explicit: Path | None = None) -> Path:
    """The config file to read: explicit, then $RIGHTSWATCH_CONFIG, then ./watch.toml."""
    if explicit is not None:
        return explicit
    env = os.environ.get(CONFIG_ENV)
    return Path(env) if env else DEFAULT_CONFIG


def load_config(path: Path | None = None) -> WatchConfig:
    """Read and validate a watch.toml; every problem becomes one :class:`ConfigError`."""
    path = config_path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: no such file (create one with 'rightswatch init')") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    if "root" in raw:
        raise ConfigError(f"{path}: root: unknown key")
    try:
        return WatchConfig.model_validate({**raw, "root": path.resolve().parent})
    except ValidationError as exc:
        raise ConfigError(f"{path}: {_describe(exc)}") from exc


def _describe(exc: ValidationError) -> str:
    # an unknown key is most often the cause of the other errors (a misspelt required key)
    errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
    err = errors[0]
    key = ".".join(_loc(part) for part in err["loc"]).replace(".[", "[") or "(top level)"
    msg = err["msg"]
    if err["type"] == "extra_forbidden":
        msg = "unknown key"
    elif err["type"] == "missing":
        msg = "required key is missing"
    more = len(exc.errors()) - 1
    tail = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return f"{key}: {msg}{tail}"


def _loc(part: int | str) -> str:
    return f"[{part}]" if isinstance(part, int) else str(part)

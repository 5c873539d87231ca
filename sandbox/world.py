"""The sandbox world: every model and image of the three platforms, built from a seed.

Only small records live in memory (a few hundred bytes per item, so 20,000 items are cheap);
pixels and files are produced on demand by :mod:`sandbox.media`. Identifiers are unique per
kind across platforms, so a takedown needs only the kind and the id the platform shows:

- Civitai: models ``100xxx`` (numeric, 6+ digits), images ``9xxxxxx`` (7+ digits);
- Hugging Face: models ``user/repo`` (no images);
- gallery: models ``61xxxxxxxxxxxxxxxx``, images ``71xxxxxxxxxxxxxxxx`` (18 digits).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from sandbox.characters import CHARACTERS
from sandbox.content import DERIVATIONS, REFERENCE_LAYOUT, ImageRecipe
from sandbox.errors import ContentError
from sandbox.lora import BASE_MODELS, LoraSpec
from sandbox.naming import (
    ASCII_NAME_SIGNALS,
    SIGNALS,
    USERNAMES,
    Naming,
    character_naming,
    innocent_naming,
    slugify,
)

EPOCH = dt.datetime(2025, 1, 6, 9, 0, tzinfo=dt.UTC)
_SSR_NAMESPACE = uuid.UUID("5b0c8f0e-2f1c-4d55-9d0a-7a3c4e9b1f00")
SCRIPT_TITLE = '<script>alert("sandbox")</script>'
SCENE_WORDS = ("on a beach", "in a city at night", "in a cozy room", "in a meadow", "abstract")


class Platform(StrEnum):
    CIVITAI = "civitai"
    HUGGINGFACE = "huggingface"
    GALLERY = "gallery"


class Kind(StrEnum):
    IMAGE = "image"
    MODEL = "model"


class HubFlavour(StrEnum):
    """How a Hugging Face repo presents itself (real-platforms.md, Hugging Face 2)."""

    TAGGED = "lora-tagged"  # card tags include ``lora``
    UNTAGGED = "lora-untagged"  # a Stable Diffusion LoRA without the ``lora`` tag
    PEFT_LLM = "peft-llm"  # an LLM PEFT adapter: tagged ``lora``, about no character


# Civitai model types a character look-alike comes as (real-platforms.md, Civitai 4).
MODEL_TYPES = ("LORA", "LORA", "LORA", "LoCon", "DoRA", "TextualInversion")
# browsingLevel bits (real-platforms.md, Civitai 3): 1 PG, 2 PG-13, 4 R, 8 X, 16 XXX.
MATURE_LEVELS = (4, 8, 16)
PEFT_BASES = ("meta-llama/Llama-3.1-8B", "Qwen/Qwen2.5-7B-Instruct", "mistralai/Mistral-7B-v0.3")
PEFT_TASKS = ("sql", "chat", "summarize", "medical-qa", "code", "translate-de")


@dataclass(frozen=True)
class Version:
    """A Civitai model version with its one file (other platforms have one implicit version)."""

    id: int
    name: str
    file_id: int


@dataclass(frozen=True)
class Model:
    """A LoRA model as one platform lists it."""

    platform: Platform
    external_id: str
    ordinal: int
    naming: Naming
    character: str | None
    creator: str
    base_model: str
    created: dt.datetime
    downloads: int
    likes: int
    versions: tuple[Version, ...]
    fault: str | None = None
    model_type: str = "LORA"
    nsfw_level: int = 1  # browsingLevel bit of the model (1 = public)
    flavour: HubFlavour | None = None  # Hugging Face only
    gated: bool = False  # Hugging Face only: "manual" gating, files need accepted terms

    @property
    def mature(self) -> bool:
        return self.nsfw_level > 1

    @property
    def title(self) -> str:
        prefix = f"{SCRIPT_TITLE} " if self.fault == "script-title" else ""
        return prefix + self.naming.title

    @property
    def filename(self) -> str:
        stem = "".join(c if c.isalnum() or c in "._-" else "_" for c in self.naming.output_name)
        return f"{stem}.safetensors"

    def lora(self, version: int = 0) -> LoraSpec:
        """What the file of the ``version``-th version (0 = first) says about itself."""
        n = self.naming
        return LoraSpec(
            seed=self.ordinal * 7919 + len(self.external_id) + version * 1_000_003,
            output_name=n.output_name,
            title=n.title,
            trigger=n.trigger,
            dataset_dir=n.dataset_dir,
            caption_tags=n.caption_tags,
            base_model=self.base_model,
            author=self.creator,
            comment=n.comment,
        )


@dataclass(frozen=True)
class Picture:
    """An image post: what it shows (``recipe``), where, and how it was generated."""

    platform: Platform
    external_id: str
    ordinal: int
    recipe: ImageRecipe
    fmt: str
    creator: str
    created: dt.datetime
    prompt: str
    likes: int
    model_id: str | None = None
    version_id: int | None = None
    fault: str | None = None
    browsing_level: int = 1

    @property
    def character(self) -> str | None:
        return self.recipe.characters[0] if self.recipe.characters else None


def _split(total: int) -> dict[tuple[Platform, Kind], int]:
    shares = {
        (Platform.CIVITAI, Kind.MODEL): 0.10,
        (Platform.HUGGINGFACE, Kind.MODEL): 0.08,
        (Platform.GALLERY, Kind.MODEL): 0.07,
        (Platform.CIVITAI, Kind.IMAGE): 0.35,
    }
    counts = {key: max(1, round(total * share)) for key, share in shares.items()}
    counts[(Platform.GALLERY, Kind.IMAGE)] = max(1, total - sum(counts.values()))
    return counts


@dataclass
class World:
    """All items of one sandbox, their removal state, and the ground truth."""

    seed: int
    models: list[Model] = field(default_factory=list)
    pictures: list[Picture] = field(default_factory=list)
    removed: set[tuple[Kind, str]] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._models = {m.external_id: m for m in self.models}
        self._pictures = {p.external_id: p for p in self.pictures}
        self._versions = {v.id: (m, v) for m in self.models for v in m.versions}
        self._models_on = {p: [m for m in self.models if m.platform == p] for p in Platform}
        self._pictures_on = {p: [x for x in self.pictures if x.platform == p] for p in Platform}
        self._by_model: dict[str, list[Picture]] = {}
        for picture in self.pictures:
            if picture.model_id:
                self._by_model.setdefault(picture.model_id, []).append(picture)

    def model(self, external_id: str, platform: Platform | None = None) -> Model | None:
        found = self._models.get(external_id)
        return found if found and (platform is None or found.platform == platform) else None

    def picture(self, external_id: str, platform: Platform | None = None) -> Picture | None:
        found = self._pictures.get(external_id)
        return found if found and (platform is None or found.platform == platform) else None

    def version(self, version_id: int) -> tuple[Model, Version] | None:
        return self._versions.get(version_id)

    def models_on(self, platform: Platform) -> list[Model]:
        return list(self._models_on[platform])

    def pictures_on(self, platform: Platform) -> list[Picture]:
        return list(self._pictures_on[platform])

    def pictures_of(self, model: Model) -> list[Picture]:
        """The model's showcase images that are still up."""
        return [p for p in self._by_model.get(model.external_id, []) if not self.is_removed(p)]

    def is_removed(self, item: Model | Picture) -> bool:
        if not self.removed:
            return False
        kind = Kind.MODEL if isinstance(item, Model) else Kind.IMAGE
        return (kind, item.external_id) in self.removed

    def remove(self, kind: str, external_id: str) -> Model | Picture:
        """Take an item down; raises ContentError naming an unknown kind or id."""
        item: Model | Picture | None
        if kind == Kind.MODEL:
            item = self.model(external_id)
        elif kind == Kind.IMAGE:
            item = self.picture(external_id)
        else:
            raise ContentError(f"unknown kind {kind!r} (image or model)")
        if item is None:
            raise ContentError(f"no {kind} with id {external_id!r}")
        self.removed.add((Kind(kind), external_id))
        return item

    def truth(self, base_url: str) -> list[dict[str, object]]:
        """One object per item: platform, kind, external_id, character, how, and more.

        Gallery items also carry ``sites``: the same item on each gallery style, keyed by the
        platform name the demo client gives it (``gallery``, ``gallery-ssr``,
        ``gallery-walled``), each with the ``external_id`` and ``url`` that style shows."""
        rows: list[dict[str, object]] = []
        for m in self.models:
            rows.append(
                {
                    "platform": m.platform.value,
                    "kind": Kind.MODEL.value,
                    "external_id": m.external_id,
                    "character": m.character,
                    "how": m.naming.how,
                    "title": m.title,
                    "url": base_url + model_path(m),
                    "removed": self.is_removed(m),
                    "fault": m.fault,
                    "type": m.model_type,
                    "nsfw_level": m.nsfw_level,
                    "flavour": m.flavour.value if m.flavour else None,
                    "gated": m.gated,
                    **_sites(base_url, Kind.MODEL, m.platform, m.external_id),
                }
            )
        for p in self.pictures:
            rows.append(
                {
                    "platform": p.platform.value,
                    "kind": Kind.IMAGE.value,
                    "external_id": p.external_id,
                    "character": p.character,
                    "characters": list(p.recipe.characters),
                    "how": p.recipe.how,
                    "palette_of": p.recipe.palette_of,
                    "model_id": p.model_id,
                    "url": base_url + picture_path(p),
                    "removed": self.is_removed(p),
                    "fault": p.fault,
                    "browsing_level": p.browsing_level,
                    **_sites(base_url, Kind.IMAGE, p.platform, p.external_id),
                }
            )
        return rows


def ssr_id(external_id: str) -> str:
    """The 32-hex-digit id the server-rendered gallery style shows for a gallery item."""
    return uuid.uuid5(_SSR_NAMESPACE, external_id).hex


def _sites(base: str, kind: Kind, platform: Platform, external_id: str) -> dict[str, object]:
    if platform != Platform.GALLERY:
        return {}
    model = kind == Kind.MODEL
    uid = ssr_id(external_id)
    return {
        "sites": {
            "gallery": {
                "external_id": external_id,
                "url": f"{base}/gallery/{'models' if model else 'posts'}/{external_id}",
            },
            "gallery-ssr": {
                "external_id": uid,
                "url": f"{base}/ssr/{'modelinfo' if model else 'imageinfo'}/{uid}",
            },
            "gallery-walled": {
                "external_id": external_id,
                "url": f"{base}/walled/{'lora' if model else 'artworks'}/{external_id}",
            },
        }
    }


def model_path(model: Model) -> str:
    """The model's web page path on its platform."""
    if model.platform == Platform.CIVITAI:
        return f"/models/{model.external_id}/{slugify(model.naming.title)}"
    if model.platform == Platform.HUGGINGFACE:
        return f"/{model.external_id}"
    return f"/gallery/models/{model.external_id}"


def picture_path(picture: Picture) -> str:
    """The image's web page path on its platform."""
    if picture.platform == Platform.CIVITAI:
        return f"/images/{picture.external_id}"
    return f"/gallery/posts/{picture.external_id}"


def _model(platform: Platform, ordinal: int, seed: int, slot: int | None) -> Model:
    """Model ``ordinal``; ``slot`` numbers the character models (None: an innocent one)."""
    rng = random.Random(f"model:{seed}:{platform}:{ordinal}")
    creator = rng.choice(USERNAMES)
    who = None
    if slot is not None:
        pool = ASCII_NAME_SIGNALS if platform == Platform.HUGGINGFACE else SIGNALS
        who = CHARACTERS[(slot + slot // len(pool)) % len(CHARACTERS)]
        naming = character_naming(who, pool[slot % len(pool)], rng)
    else:
        naming = innocent_naming(rng, near_name=rng.random() < 0.3)
    created = EPOCH + dt.timedelta(hours=ordinal * 5 + rng.randint(0, 4))
    if platform == Platform.CIVITAI:
        external_id = str(100000 + ordinal * 13 + rng.randint(0, 12))
        versions = tuple(
            Version(200000 + ordinal * 4 + v, f"v{v + 1}.0", 300000 + ordinal * 4 + v)
            for v in range(rng.choice((1, 1, 2)))
        )
    elif platform == Platform.HUGGINGFACE:
        repo = slugify(naming.title) if naming.title.isascii() else "lora"
        external_id = f"{creator}/{repo}-{ordinal}"
        versions = (Version(0, "main", 0),)
    else:
        external_id = str(612345678900000000 + ordinal * 7919 + rng.randint(0, 7000))
        versions = (Version(0, "V1", 0),)
    # A separate stream, so that adding realism did not change the items drawn above.
    extra = random.Random(f"model-extra:{seed}:{platform}:{ordinal}")
    model_type, nsfw_level, flavour = "LORA", 1, None
    if platform == Platform.CIVITAI:
        model_type = extra.choice(MODEL_TYPES) if who else "LORA"
        nsfw_level = extra.choice(MATURE_LEVELS) if extra.random() < 0.25 else 1
    elif platform == Platform.HUGGINGFACE:
        flavour = HubFlavour.UNTAGGED if extra.random() < 0.5 else HubFlavour.TAGGED
    return Model(
        platform=platform,
        external_id=external_id,
        ordinal=ordinal,
        naming=naming,
        character=who.name if who else None,
        creator=creator,
        base_model=rng.choice(BASE_MODELS),
        created=created,
        downloads=rng.randint(0, 20000),
        likes=rng.randint(0, 900),
        versions=versions,
        model_type=model_type,
        nsfw_level=nsfw_level,
        flavour=flavour,
    )


def _peft_adapter(ordinal: int, seed: int) -> Model:
    """An LLM PEFT adapter on Hugging Face: tagged ``lora``, about no character."""
    rng = random.Random(f"peft:{seed}:{ordinal}")
    base = rng.choice(PEFT_BASES)
    task = rng.choice(PEFT_TASKS)
    short = base.split("/")[1].lower().replace(".", "")
    title = f"{short}-{task}-lora"
    naming = Naming(
        how="innocent:peft-llm",
        title=title,
        tags=("peft", "text-generation"),
        trigger="",
        output_name=f"{task}_adapter",
        dataset_dir=f"1_{task}",
        caption_tags=(),
        comment="",
    )
    return Model(
        platform=Platform.HUGGINGFACE,
        external_id=f"{rng.choice(USERNAMES)}/{title}-{ordinal}",
        ordinal=ordinal,
        naming=naming,
        character=None,
        creator=rng.choice(USERNAMES),
        base_model=base,
        created=EPOCH + dt.timedelta(hours=ordinal * 5 + 2),
        downloads=rng.randint(0, 90000),
        likes=rng.randint(0, 900),
        versions=(Version(0, "main", 0),),
        flavour=HubFlavour.PEFT_LLM,
    )


def _recipe(rng: random.Random, who: str | None, seed: int) -> ImageRecipe:
    names = [c.name for c in CHARACTERS]
    if who is None:
        if rng.random() < 0.35:
            return ImageRecipe(seed, "lookalike", palette_of=rng.choice(names))
        return ImageRecipe(seed, "unrelated")
    how = rng.choice((*DERIVATIONS, "scene", "scene", "scene", "pair"))
    if how == "pair":
        other = rng.choice([n for n in names if n != who])
        return ImageRecipe(seed, "pair", characters=(who, other))
    return ImageRecipe(seed, how, characters=(who,), reference=rng.randrange(len(REFERENCE_LAYOUT)))


def _picture(platform: Platform, ordinal: int, seed: int, models: list[Model]) -> Picture:
    rng = random.Random(f"picture:{seed}:{platform}:{ordinal}")
    model = rng.choice(models) if models and rng.random() < 0.85 else None
    if model is not None and model.character is not None:
        who = model.character if rng.random() < 0.75 else None
    else:
        who = rng.choice(CHARACTERS).name if rng.random() < 0.25 else None
    recipe = _recipe(rng, who, ordinal * 104729 + seed)
    lora = f"<lora:{model.naming.output_name}:0.8>, {model.naming.trigger}, " if model else ""
    prompt = f"masterpiece, best quality, {lora}{rng.choice(SCENE_WORDS)}"
    if platform == Platform.CIVITAI:
        external_id = str(9000000 + ordinal * 17 + rng.randint(0, 16))
    else:
        external_id = str(712345678900000000 + ordinal * 7919 + rng.randint(0, 7000))
    return Picture(
        platform=platform,
        external_id=external_id,
        ordinal=ordinal,
        recipe=recipe,
        fmt="jpeg" if platform == Platform.CIVITAI else "png",
        creator=rng.choice(USERNAMES),
        created=EPOCH + dt.timedelta(minutes=ordinal * 37 + rng.randint(0, 30)),
        prompt=prompt,
        likes=rng.randint(0, 500),
        model_id=model.external_id if model else None,
        version_id=rng.choice(model.versions).id if model else None,
        browsing_level=_browsing_level(platform, ordinal, seed, model),
    )


def _browsing_level(platform: Platform, ordinal: int, seed: int, model: Model | None) -> int:
    """Mature images: those of mature models, and about a fifth of the others (Civitai)."""
    if platform != Platform.CIVITAI:
        return 1
    extra = random.Random(f"picture-extra:{seed}:{ordinal}")
    if model is not None and model.mature:
        return model.nsfw_level
    return extra.choice(MATURE_LEVELS) if extra.random() < 0.2 else 1


def _assign_faults(
    seed: int, models: list[Model], pictures: list[Picture], counts: Mapping[str, int]
) -> tuple[list[Model], list[Picture]]:
    rng = random.Random(f"faults:{seed}")
    names = ("st-huge-header", "st-bad-json", "st-long-header")
    model_faults = {name: counts.get(name, 0) for name in names}
    model_faults["script-title"] = counts.get("script-title", 0)
    free_models = list(range(len(models)))
    rng.shuffle(free_models)
    for name, count in model_faults.items():
        for index in free_models[:count]:
            models[index] = dataclasses.replace(models[index], fault=name)
        del free_models[:count]
    preferred = {"bomb": "png", "corrupt-jpeg": "jpeg", "file-url": "jpeg", "admin-url": "jpeg"}
    free_pictures = list(range(len(pictures)))
    rng.shuffle(free_pictures)
    for name, fmt in preferred.items():
        ranked = sorted(free_pictures, key=lambda i: pictures[i].fmt != fmt)
        for index in ranked[: counts.get(name, 0)]:
            pictures[index] = dataclasses.replace(pictures[index], fault=name)
            free_pictures.remove(index)
    return models, pictures


def build_world(seed: int, items: int, content_faults: Mapping[str, int] | None = None) -> World:
    """Build the world of ``items`` items for ``seed`` (same arguments, same world)."""
    if items < 5:
        raise ContentError(f"--items {items}: at least 5 items are needed")
    counts = _split(items)
    models: list[Model] = []
    for platform in Platform:
        slots = random.Random(f"slots:{seed}:{platform}")
        character_models = 0
        total = counts.get((platform, Kind.MODEL), 0)
        # On Hugging Face the last seventh are LLM PEFT adapters (tagged "lora", innocent).
        peft = total // 7 if platform == Platform.HUGGINGFACE else 0
        for ordinal in range(total - peft):
            slot = character_models if slots.random() < 0.6 else None
            character_models += slot is not None
            models.append(_model(platform, ordinal, seed, slot))
        models.extend(_peft_adapter(ordinal, seed) for ordinal in range(total - peft, total))
    pictures: list[Picture] = []
    for platform in (Platform.CIVITAI, Platform.GALLERY):
        linked = [m for m in models if m.platform == platform]
        n = counts[(platform, Kind.IMAGE)]
        pictures.extend(_picture(platform, k, seed, linked) for k in range(n))
    models, pictures = _assign_faults(seed, models, pictures, content_faults or {})
    hub = [i for i, m in enumerate(models) if m.platform == Platform.HUGGINGFACE]
    named = [i for i in hub if models[i].naming.how.startswith("name:") and not models[i].fault]
    if named:  # one character LoRA is gated: its files need accepted terms
        models[named[0]] = dataclasses.replace(models[named[0]], gated=True)
    return World(seed=seed, models=models, pictures=pictures)

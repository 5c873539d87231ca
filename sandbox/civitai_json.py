"""Civitai-shaped JSON objects: models, versions, files and images (platforms research §1).

Field names, nesting and value kinds follow the public reference and the handler code cited
there: ``allowCommercialUse`` is a Postgres-array string, image ``hash`` is a BlurHash,
``nsfwLevel`` is an integer on models and a string on images, file ``hashes`` carry upper-case
hex, and a taken-down model keeps ``mode: "TakenDown"`` but loses its files and images.
"""

from __future__ import annotations

import random
import re
import uuid
from typing import Any

from sandbox.characters import character
from sandbox.media import GenerationMeta
from sandbox.site import Site
from sandbox.world import Model, Picture, Platform, Version

CDN_KEY = "sbxQ3nTnHq9cVdP0aZk7uA"
# GET /api/v1/enums (research §1.1)
ENUMS = {
    "ModelType": [
        "Checkpoint",
        "TextualInversion",
        "Hypernetwork",
        "AestheticGradient",
        "LORA",
        "LoCon",
        "DoRA",
        "Controlnet",
        "Upscaler",
        "MotionModule",
        "VAE",
        "Poses",
        "Wildcards",
        "Workflows",
        "Detection",
        "Other",
    ],
    "ModelFileType": [
        "Model",
        "Text Encoder",
        "Pruned Model",
        "Negative",
        "Training Data",
        "VAE",
        "Config",
        "Archive",
    ],
    "BaseModel": ["SD 1.5", "SD 2.1", "SDXL 1.0", "Pony", "Illustrious", "Flux.1 D"],
    "BaseModelType": ["Standard", "Inpainting", "Refiner", "Pix2Pix"],
}
_BASE83 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~"
_AIR_ECOSYSTEM = {"SD 1.5": "sd1", "SDXL 1.0": "sdxl", "Pony": "sdxl", "Illustrious": "sdxl"}


def iso(moment: Any) -> str:
    return f"{moment:%Y-%m-%dT%H:%M:%S}.000Z"


def image_uuid(picture: Picture) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"sandbox-image-{picture.external_id}"))


HOSTILE_MEDIA = {"file-url": "file:///etc/passwd", "admin-url": "http://127.0.0.1:9/admin"}


def image_url(base: str, picture: Picture, params: str) -> str:
    """CDN URL as Civitai builds it: ``/<key>/<uuid>/<params>/<id>.jpeg``; a hostile platform's
    own choice under the ``file-url`` and ``admin-url`` faults."""
    if picture.fault in HOSTILE_MEDIA:
        return HOSTILE_MEDIA[picture.fault]
    return f"{base}/cdn/{CDN_KEY}/{image_uuid(picture)}/{params}/{picture.external_id}.jpeg"


def blurhash(picture: Picture) -> str:
    """A valid one-component BlurHash: the dominant colour of the image."""
    if picture.character:
        red, green, blue = character(picture.character).palette[0]
    else:
        rng = random.Random(f"blur:{picture.external_id}")
        red, green, blue = rng.randint(120, 240), rng.randint(120, 240), rng.randint(120, 240)
    value = (red << 16) + (green << 8) + blue
    digits = "".join(_BASE83[(value // 83**k) % 83] for k in (3, 2, 1, 0))
    return "00" + digits


def download_name(model: Model, version: Version) -> str:
    """Civitai rewrites file names to ``{ModelName}_{VersionName}.safetensors``."""
    stem = re.sub(r"\W+", "", model.naming.title) or "model"
    label = re.sub(r"\W+", "", version.name)
    return f"{stem}_{label}.safetensors"


def file_json(site: Site, base: str, model: Model, number: int) -> dict[str, Any]:
    version = model.versions[number]
    hashes = site.media.hashes(model, number)
    return {
        "id": version.file_id,
        "sizeKB": round(hashes.size / 1024, 4),
        "name": download_name(model, version),
        "type": "Model",
        "pickleScanResult": "Success",
        "pickleScanMessage": "No Pickle imports",
        "virusScanResult": "Success",
        "virusScanMessage": None,
        "scannedAt": iso(model.created),
        "metadata": {"format": "SafeTensor", "size": None, "fp": "fp16"},
        "hashes": hashes.as_civitai(),
        "primary": True,
        "downloadUrl": f"{base}/api/download/models/{version.id}",
    }


NSFW_NAMES = {1: "None", 2: "Soft", 4: "Mature", 8: "X", 16: "X"}


def version_image_json(site: Site, base: str, picture: Picture) -> dict[str, Any]:
    width, height = site.media.size(picture)
    return {
        "id": int(picture.external_id),
        "url": image_url(base, picture, "width=450"),
        "nsfwLevel": picture.browsing_level,
        "width": width,
        "height": height,
        "hash": blurhash(picture),
        "type": "image",
        "hasMeta": True,
        "onSite": False,
    }


def version_json(
    site: Site, base: str, model: Model, number: int, levels: int = 31
) -> dict[str, Any]:
    """One entry of ``modelVersions`` (files and images dropped when taken down); preview
    images outside the caller's browsing ``levels`` are left out, as Civitai does."""
    version = model.versions[number]
    taken_down = site.world.is_removed(model)
    pictures = [
        p
        for p in site.world.pictures_of(model)
        if p.version_id == version.id and p.browsing_level & levels
    ]
    data: dict[str, Any] = {
        "id": version.id,
        "index": number,
        "name": version.name,
        "baseModel": model.base_model,
        "baseModelType": "Standard",
        "createdAt": iso(model.created),
        "publishedAt": iso(model.created),
        "status": "Published",
        "availability": "Public",
        "nsfwLevel": model.nsfw_level,
        "description": None,
        "trainedWords": [model.naming.trigger],
        "stats": {
            "downloadCount": model.downloads // (number + 1),
            "ratingCount": 0,
            "rating": 0,
            "thumbsUpCount": model.likes // (number + 1),
            "thumbsDownCount": 0,
        },
        "supportsGeneration": False,
        "files": [] if taken_down else [file_json(site, base, model, number)],
        "images": [] if taken_down else [version_image_json(site, base, p) for p in pictures[:4]],
    }
    if not taken_down:
        data["downloadUrl"] = f"{base}/api/download/models/{version.id}"
    return data


def model_json(site: Site, base: str, model: Model, levels: int = 31) -> dict[str, Any]:
    """A model as ``/api/v1/models`` and ``/api/v1/models/{id}`` return it."""
    taken_down = site.world.is_removed(model)
    return {
        "id": int(model.external_id),
        "name": model.title,
        "description": f"<p>{model.naming.title}. Trigger word: {model.naming.trigger}</p>",
        "allowNoCredit": True,
        "allowCommercialUse": "{Image,RentCivit}",
        "allowDerivatives": True,
        "allowDifferentLicense": True,
        "type": model.model_type,
        "minor": False,
        "sfwOnly": False,
        "poi": False,
        "nsfw": model.mature,
        "nsfwLevel": model.nsfw_level,
        "availability": "Public",
        "cosmetic": None,
        "supportsGeneration": False,
        "mode": "TakenDown" if taken_down else None,
        "stats": {
            "downloadCount": model.downloads,
            "favoriteCount": 0,
            "thumbsUpCount": model.likes,
            "thumbsDownCount": 0,
            "commentCount": model.likes // 20,
            "ratingCount": 0,
            "rating": 0,
            "tippedAmountCount": 0,
        },
        "creator": {
            "username": model.creator,
            "image": f"{base}/cdn/{CDN_KEY}/avatar/width=96/{model.creator}.jpeg",
        },
        "tags": list(model.naming.tags),
        "modelVersions": [
            version_json(site, base, model, n, levels) for n in range(len(model.versions))
        ],
    }


def version_detail_json(site: Site, base: str, model: Model, version: Version) -> dict[str, Any]:
    """``/api/v1/model-versions/{id}`` and ``/by-hash/{hash}``: a version with its model."""
    number = model.versions.index(version)
    data = version_json(site, base, model, number)
    ecosystem = _AIR_ECOSYSTEM.get(model.base_model, "sd1")
    model_info: dict[str, Any] = {
        "name": model.title,
        "type": model.model_type,
        "nsfw": model.mature,
        "poi": False,
    }
    if site.world.is_removed(model):
        model_info["mode"] = "TakenDown"
    data.update(
        {
            "modelId": int(model.external_id),
            "air": f"urn:air:{ecosystem}:{_air_type(model)}:civitai:"
            f"{model.external_id}@{version.id}",
            "updatedAt": iso(model.created),
            "uploadType": "Created",
            "usageControl": "Download",
            "earlyAccessConfig": None,
            "earlyAccessEndsAt": None,
            "trainingStatus": None,
            "trainingDetails": None,
            "model": model_info,
        }
    )
    return data


def _air_type(model: Model) -> str:
    return {"TextualInversion": "embedding", "LoCon": "lycoris", "DoRA": "lora"}.get(
        model.model_type, "lora"
    )


def meta_json(meta: GenerationMeta, lora_hash: str | None) -> dict[str, Any]:
    """The free-form ``meta`` of an image (A1111 keys plus Civitai's resource lists)."""
    data: dict[str, Any] = {
        "Size": f"{meta.size[0]}x{meta.size[1]}",
        "seed": meta.seed,
        "steps": meta.steps,
        "sampler": meta.sampler,
        "cfgScale": meta.cfg_scale,
        "clipSkip": 2,
        "prompt": meta.prompt,
        "negativePrompt": meta.negative_prompt,
        "Model": meta.checkpoint,
        "resources": [],
    }
    if meta.lora is not None:
        data["resources"] = [
            {
                "name": meta.lora.naming.output_name,
                "type": "lora",
                "hash": (lora_hash or "")[:12].lower(),
                "weight": 0.8,
            }
        ]
        if meta.lora.platform == Platform.CIVITAI and meta.version is not None:
            data["civitaiResources"] = [
                {"type": "lora", "weight": 0.8, "modelVersionId": meta.version.id}
            ]
    return data


def image_json(site: Site, base: str, picture: Picture, with_meta: bool) -> dict[str, Any]:
    """One item of ``/api/v1/images``."""
    width, height = site.media.size(picture)
    model = site.world.model(picture.model_id) if picture.model_id else None
    data: dict[str, Any] = {
        "id": int(picture.external_id),
        "url": image_url(base, picture, "original=true"),
        "hash": blurhash(picture),
        "width": width,
        "height": height,
        "type": "image",
        "nsfw": picture.browsing_level > 1,
        "nsfwLevel": NSFW_NAMES.get(picture.browsing_level, "X"),
        "browsingLevel": picture.browsing_level,
        "createdAt": iso(picture.created),
        "postId": 1_000_000 + picture.ordinal,
        "username": picture.creator,
        "baseModel": model.base_model if model else "SD 1.5",
        "modelVersionIds": [picture.version_id] if picture.version_id else [],
        "stats": {
            "cryCount": 0,
            "laughCount": 0,
            "likeCount": picture.likes,
            "dislikeCount": 0,
            "heartCount": picture.likes // 3,
            "commentCount": picture.likes // 25,
        },
    }
    if with_meta:
        meta = site.media.meta(picture)
        data["meta"] = meta_json(meta, site.media.resource_hash(meta))
    return data

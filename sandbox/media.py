"""Bytes on demand: images rendered lazily and cached on disk, LoRA files and their hashes.

The cache lives in ``<state dir>/cache/<seed>/`` and is written atomically (temp file, then
rename), so concurrent requests and several sandboxes sharing a state dir are safe. Faulty
content (decompression bomb, corrupt JPEG, broken safetensors) is produced here too.
"""

from __future__ import annotations

import functools
import os
import random
import struct
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from sandbox.content import encode_image, image_size, render_image
from sandbox.lora import FileHashes, build_lora, file_hashes
from sandbox.world import Model, Picture, Platform, Version, World

NEGATIVE_PROMPT = "lowres, bad anatomy, watermark, signature"
BOMB_SIDE = 30000  # 900 megapixels: far past Pillow's decompression-bomb limit


@dataclass(frozen=True)
class GenerationMeta:
    """What a generator wrote about how an image was made (A1111 keys, Civitai names)."""

    prompt: str
    negative_prompt: str
    seed: int
    steps: int
    sampler: str
    cfg_scale: float
    size: tuple[int, int]
    checkpoint: str
    lora: Model | None
    version: Version | None

    def parameters(self, lora_hash: str | None) -> str:
        """The A1111 ``parameters`` text embedded in the file."""
        line = (
            f"Steps: {self.steps}, Sampler: {self.sampler}, CFG scale: {self.cfg_scale}, "
            f"Seed: {self.seed}, Size: {self.size[0]}x{self.size[1]}, Model: {self.checkpoint}"
        )
        if self.lora is not None and lora_hash:
            line += f', Lora hashes: "{self.lora.naming.output_name}: {lora_hash[:12].lower()}"'
        return f"{self.prompt}\nNegative prompt: {self.negative_prompt}\n{line}"


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


@functools.lru_cache(maxsize=1)
def bomb_png() -> bytes:
    """A valid 1-bit PNG of 30000x30000 pixels that compresses to about 100 KB."""
    row = b"\x00" * (1 + BOMB_SIDE // 8 + 1)
    compressor = zlib.compressobj(9)
    block = row * 256
    parts = [compressor.compress(block) for _ in range(BOMB_SIDE // 256)]
    parts.append(compressor.compress(row * (BOMB_SIDE % 256)))
    parts.append(compressor.flush())
    idat = b"".join(parts)

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", BOMB_SIDE, BOMB_SIDE, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def corrupt_jpeg(good: bytes) -> bytes:
    """A JPEG whose start-of-frame segment is mangled and whose scan data is cut short."""
    data = bytearray(good[: max(64, len(good) // 3)])
    sof = data.find(b"\xff\xc0")
    if sof >= 0:
        data[sof + 5 : sof + 9] = b"\x00\x00\x00\x00"  # zero height and width
        data[sof + 9] = 7  # seven colour components: invalid
    return bytes(data)


def _file_fault(model: Model) -> str | None:
    return (
        model.fault if model.fault in ("st-huge-header", "st-bad-json", "st-long-header") else None
    )


class MediaStore:
    """Renders, encodes and caches every byte the platforms serve."""

    def __init__(self, world: World, cache_dir: Path) -> None:
        self.world = world
        self.cache_dir = cache_dir / "cache" / str(world.seed)
        self._hashes: dict[str, FileHashes] = {}
        self._hash_index: dict[str, tuple[Model, Version]] | None = None
        self._lock = threading.Lock()

    def meta(self, picture: Picture) -> GenerationMeta:
        """Generation metadata of an image (deterministic from its ordinal)."""
        rng = random.Random(f"meta:{self.world.seed}:{picture.external_id}")
        lora = self.world.model(picture.model_id) if picture.model_id else None
        version = None
        if lora is not None and picture.version_id is not None:
            found = self.world.version(picture.version_id)
            version = found[1] if found else None
        return GenerationMeta(
            prompt=picture.prompt,
            negative_prompt=NEGATIVE_PROMPT,
            seed=rng.randint(0, 2**32 - 1),
            steps=rng.choice((20, 25, 28, 30)),
            sampler=rng.choice(("DPM++ 2M Karras", "Euler a", "DPM++ SDE Karras")),
            cfg_scale=rng.choice((5.0, 6.0, 7.0)),
            size=image_size(picture.recipe, self.world.seed),
            checkpoint=rng.choice(("v1-5-pruned-emaonly", "sd_xl_base_1.0", "ponyDiffusionV6XL")),
            lora=lora,
            version=version,
        )

    def size(self, picture: Picture) -> tuple[int, int]:
        return image_size(picture.recipe, self.world.seed)

    def picture_bytes(self, picture: Picture, width: int | None = None) -> bytes:
        """The image file as served (``width`` scales it down, as CDN renditions do)."""
        if picture.fault == "bomb":
            return bomb_png()
        name = f"{picture.platform}-{picture.external_id}-{width or 'original'}.{picture.fmt}"
        path = self.cache_dir / "images" / name
        if path.exists():
            data = path.read_bytes()
        else:
            image = render_image(picture.recipe, self.world.seed)
            if width and width < image.width:
                height = max(1, round(image.height * width / image.width))
                image = image.resize((width, height), Image.Resampling.LANCZOS)
            meta = self.meta(picture)
            data = encode_image(image, picture.fmt, meta.parameters(self.resource_hash(meta)))
            _atomic_write(path, data)
        if picture.fault == "corrupt-jpeg":
            return corrupt_jpeg(data)
        return data

    def lora_bytes(self, model: Model, version: int = 0) -> bytes:
        """The ``.safetensors`` file of the model's ``version``-th version (0 = first).

        Faulty when the model carries a file fault.
        """
        name = f"{model.platform}-{model.ordinal}-{version}.safetensors"
        path = self.cache_dir / "files" / name
        if path.exists():
            return path.read_bytes()
        data = build_lora(model.lora(version), _file_fault(model))
        _atomic_write(path, data)
        return data

    def hashes(self, model: Model, version: int = 0) -> FileHashes:
        """Civitai's hash set of one version's file (cached in memory)."""
        key = f"{model.platform}:{model.external_id}:{version}"
        found = self._hashes.get(key)
        if found is None:
            # hashing needs the bytes, not the cache file: build them without writing
            found = file_hashes(build_lora(model.lora(version), _file_fault(model)))
            with self._lock:
                self._hashes[key] = found
        return found

    def resource_hash(self, meta: GenerationMeta) -> str | None:
        """AutoV3 of the LoRA version an image was made with (A1111's "Lora hashes")."""
        if meta.lora is None:
            return None
        number = meta.lora.versions.index(meta.version) if meta.version in meta.lora.versions else 0
        return self.hashes(meta.lora, number).autov3

    def find_by_hash(self, value: str) -> tuple[Model, Version] | None:
        """The Civitai version whose file has this hash (any of Civitai's kinds, any case)."""
        if self._hash_index is None:
            index: dict[str, tuple[Model, Version]] = {}
            for model in self.world.models_on(Platform.CIVITAI):
                for number, version in enumerate(model.versions):
                    for digest in self.hashes(model, number).all_values():
                        index.setdefault(digest.upper(), (model, version))
            self._hash_index = index
        return self._hash_index.get(value.upper())

"""Small but real ``.safetensors`` LoRA files with kohya-style training metadata.

Format (platforms research §3.1): 8-byte little-endian header length N, N bytes of UTF-8 JSON
(tensor entries with ``dtype``/``shape``/``data_offsets`` plus a string-to-string
``__metadata__``), then the tensor data. Metadata keys follow kohya sd-scripts and SAI
ModelSpec (§3.3); hashes follow Civitai's definitions (§1.4).
"""

from __future__ import annotations

import functools
import hashlib
import json
import random
import struct
import zlib
from collections.abc import Mapping
from dataclasses import dataclass

from sandbox.errors import ContentError

_BASES = {
    "SD 1.5": ("sd_v1", "stable-diffusion-v1/lora", "v1-5-pruned-emaonly.safetensors"),
    "SDXL 1.0": (
        "sdxl_base_v1-0",
        "stable-diffusion-xl-v1-base/lora",
        "sd_xl_base_1.0.safetensors",
    ),
    "Pony": ("sdxl_base_v1-0", "stable-diffusion-xl-v1-base/lora", "ponyDiffusionV6XL.safetensors"),
    "Illustrious": (
        "sdxl_base_v1-0",
        "stable-diffusion-xl-v1-base/lora",
        "illustriousXL_v01.safetensors",
    ),
}
BASE_MODELS = tuple(_BASES)
_LAYERS = (
    "lora_unet_down_blocks_0_attentions_0_proj_in",
    "lora_unet_mid_block_attentions_0_proj_out",
    "lora_te_text_model_encoder_layers_0_self_attn_q_proj",
)
FAULTY_HEADER_LENGTH = 2**63
_POOL = 65536


@dataclass(frozen=True)
class LoraSpec:
    """What a LoRA file says about itself."""

    seed: int
    output_name: str
    title: str
    trigger: str
    dataset_dir: str
    caption_tags: tuple[str, ...]
    base_model: str = "SD 1.5"
    author: str = "anonymous"
    comment: str = ""
    rank: int = 4


@dataclass(frozen=True)
class FileHashes:
    """Civitai's hash set for one file (upper-case hex), and the file's size."""

    size: int
    sha256: str
    autov1: str | None
    autov2: str
    autov3: str
    crc32: str

    def as_civitai(self) -> dict[str, str]:
        """The ``files[].hashes`` object as Civitai returns it."""
        hashes = {"AutoV2": self.autov2, "SHA256": self.sha256, "CRC32": self.crc32}
        hashes["AutoV3"] = self.autov3
        if self.autov1:
            hashes["AutoV1"] = self.autov1
        return hashes

    def all_values(self) -> tuple[str, ...]:
        values = (self.sha256, self.autov1, self.autov2, self.autov3, self.crc32)
        return tuple(v for v in values if v)


@functools.lru_cache(maxsize=1)
def _weight_pool() -> bytes:
    """64 Ki small float16 weights; each file takes slices of it at seeded offsets."""
    rng = random.Random("sandbox-weight-pool")
    return struct.pack(f"<{_POOL}e", *(rng.gauss(0.0, 0.02) for _ in range(_POOL)))


def _tensors(spec: LoraSpec) -> tuple[dict[str, dict[str, object]], bytes]:
    rng = random.Random(f"tensors:{spec.seed}")
    pool = _weight_pool()
    header: dict[str, dict[str, object]] = {}
    chunks: list[bytes] = []
    offset = 0
    for layer in _LAYERS:
        parts = (("lora_down.weight", [spec.rank, 32]), ("lora_up.weight", [32, spec.rank]))
        for part, shape in parts:
            count = shape[0] * shape[1]
            start = rng.randrange(_POOL - count) * 2
            data = pool[start : start + count * 2]
            header[f"{layer}.{part}"] = {
                "dtype": "F16",
                "shape": shape,
                "data_offsets": [offset, offset + len(data)],
            }
            chunks.append(data)
            offset += len(data)
        span = [offset, offset + 2]
        header[f"{layer}.alpha"] = {"dtype": "F16", "shape": [], "data_offsets": span}
        chunks.append(struct.pack("<e", spec.rank / 2))
        offset += 2
    return header, b"".join(chunks)


def kohya_metadata(spec: LoraSpec, tensor_data: bytes) -> dict[str, str]:
    """The ``__metadata__`` map: every value a string, nested values JSON-encoded."""
    if spec.base_model not in _BASES:
        raise ContentError(f"unknown base model {spec.base_model!r} for {spec.output_name!r}")
    version, architecture, checkpoint = _BASES[spec.base_model]
    rng = random.Random(f"lora:{spec.seed}")
    images = rng.randint(12, 40)
    repeats = rng.choice((5, 10, 20))
    frequency = {tag: rng.randint(1, images) for tag in spec.caption_tags}
    frequency[spec.trigger.lower()] = images
    started = 1_700_000_000 + rng.randint(0, 50_000_000)
    epochs = rng.choice((6, 8, 10))
    steps = images * repeats * epochs
    legacy = tensor_data[0x100000:0x110000]
    return {
        "ss_output_name": spec.output_name,
        "ss_training_comment": spec.comment,
        "ss_base_model_version": version,
        "ss_sd_model_name": checkpoint,
        "ss_network_module": "networks.lora",
        "ss_network_dim": str(spec.rank),
        "ss_network_alpha": str(spec.rank / 2),
        "ss_v2": "False",
        "ss_tag_frequency": json.dumps({spec.dataset_dir: frequency}, ensure_ascii=False),
        "ss_dataset_dirs": json.dumps(
            {spec.dataset_dir: {"n_repeats": repeats, "img_count": images}}, ensure_ascii=False
        ),
        "ss_num_train_images": str(images * repeats),
        "ss_epoch": str(epochs),
        "ss_num_epochs": str(epochs),
        "ss_steps": str(steps),
        "ss_max_train_steps": str(steps),
        "ss_resolution": "(512, 512)" if version == "sd_v1" else "(1024, 1024)",
        "ss_learning_rate": "0.0001",
        "ss_optimizer": "bitsandbytes.optim.adamw.AdamW8bit",
        "ss_mixed_precision": "fp16",
        "ss_seed": str(rng.randint(0, 2**31)),
        "ss_session_id": str(rng.randint(0, 2**31)),
        "ss_training_started_at": f"{started}.0",
        "ss_training_finished_at": f"{started + rng.randint(600, 7200)}.0",
        "sshs_model_hash": hashlib.sha256(tensor_data).hexdigest(),
        "sshs_legacy_hash": hashlib.sha256(legacy).hexdigest()[:8] if legacy else "",
        "modelspec.sai_model_spec": "1.0.1",
        "modelspec.architecture": architecture,
        "modelspec.implementation": "https://github.com/Stability-AI/generative-models",
        "modelspec.title": spec.title,
        "modelspec.author": spec.author,
        "modelspec.trigger_phrase": spec.trigger,
        "modelspec.date": f"{started}",
        "modelspec.resolution": "512x512" if version == "sd_v1" else "1024x1024",
    }


def _pack(header: Mapping[str, object]) -> bytes:
    raw = json.dumps(header, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-len(raw) % 8)  # the format allows space padding to an 8-byte boundary
    return struct.pack("<Q", len(raw)) + raw


def build_lora(spec: LoraSpec, fault: str | None = None) -> bytes:
    """The bytes of a ``.safetensors`` file for ``spec``.

    ``fault`` ``"st-huge-header"`` writes a header length of 2**63; ``"st-bad-json"`` writes a
    header whose JSON is cut off mid-string; ``"st-long-header"`` writes a valid header of about
    96 kB (a long ``ss_bucket_info``, as kohya writes for many buckets), longer than one 64 KiB
    read.
    """
    tensors, data = _tensors(spec)
    metadata = kohya_metadata(spec, data)
    if fault == "st-long-header":
        buckets = {
            str(n): {"resolution": [512 + 64 * (n % 9), 768], "count": n} for n in range(2400)
        }
        metadata["ss_bucket_info"] = json.dumps({"buckets": buckets, "mean_img_ar_error": 0.0})
        fault = None
    header: dict[str, object] = {"__metadata__": metadata, **tensors}
    packed = _pack(header)
    if fault == "st-huge-header":
        return struct.pack("<Q", FAULTY_HEADER_LENGTH) + packed[8:] + data
    if fault == "st-bad-json":
        body = packed[8:]
        broken = body[: len(body) // 2] + b'"\x00{'
        return struct.pack("<Q", len(broken)) + broken + data
    if fault is not None:
        raise ContentError(f"unknown safetensors fault {fault!r}")
    return packed + data


def file_hashes(data: bytes) -> FileHashes:
    """SHA256, AutoV1 (files >= 2 MiB), AutoV2, AutoV3 and CRC32.

    BLAKE3 is left out: Civitai shows it only "where available", and the standard library
    has no BLAKE3.
    """
    sha = hashlib.sha256(data).hexdigest().upper()
    autov1 = None
    if len(data) >= 0x110000:
        autov1 = hashlib.sha256(data[0x100000:0x110000]).hexdigest()[:8].upper()
    header_end = 8 + struct.unpack("<Q", data[:8])[0] if len(data) >= 8 else 0
    tensor_part = data[header_end:] if header_end <= len(data) else data
    autov3 = hashlib.sha256(tensor_part).hexdigest()[:12].upper()
    crc = f"{zlib.crc32(data) & 0xFFFFFFFF:08X}"
    return FileHashes(len(data), sha, autov1, sha[:10], autov3, crc)

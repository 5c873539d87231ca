"""Every parser on abridged real responses (tests/fixtures/platforms/README.md names the
sources), besides the sandbox-shaped fixtures of test_parsers.py."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from crawler.parsers import ParseContext
from crawler.parsers.civitai import parse_images_page, parse_models_page
from crawler.parsers.huggingface import (
    card_triggers,
    is_llm_adapter,
    parse_model_info,
    parse_search_page,
)
from crawler.plan import PlatformTarget
from evidence.guard import FetchPolicy
from evidence.models import PlatformKind

REAL = Path(__file__).parents[1] / "fixtures" / "platforms"


def _load(name: str) -> Any:
    return json.loads((REAL / name).read_text(encoding="utf-8"))


def _ctx(url: str, base: str) -> ParseContext:
    return ParseContext(
        platform="p", base_url=base, url=url, fetched_at=datetime(2026, 12, 1, tzinfo=UTC)
    )


def test_real_civitai_model_listing() -> None:
    url = "https://civitai.com/api/v1/models?types=Checkpoint"
    page = parse_models_page(
        _load("civitai_models_checkpoint.json"), _ctx(url, "https://civitai.com")
    )
    (model,) = page.items
    assert page.next_url is None and not page.skipped
    assert model.external_id == "43331" and model.title == "majicMIX realistic 麦橘写实"
    assert model.licence.allow_commercial_use == ("Image",)  # a JSON array here
    assert model.created_at == datetime(2023, 10, 5, 13, 31, 16, 745000, tzinfo=UTC)
    (file,) = model.files
    assert file.sha256 == "7c819b6d13663ed720c2254f4fe18373107dfef2448d337913c8fc545640881e"
    assert file.hashes["AutoV2"] == "7C819B6D13" and file.primary
    assert file.url == "https://api.civitai.com/api/download/models/176425"
    assert model.version_ids == ("176425",) and model.base_model == "SD 1.5"
    assert len(model.media_urls) == 2 and model.creator == "Merjic"


def test_the_real_download_host_is_allowed_by_default() -> None:
    target = PlatformTarget(
        name="civitai",
        kind=PlatformKind.CIVITAI,
        base_url="https://civitai.com",
        search_terms=(),
    )
    policy = FetchPolicy.for_platform(target.base_url, sorted(target.hosts()))
    for url in (
        "https://api.civitai.com/api/download/models/176425",
        "https://image.civitai.com/xG1nkqKTMzGDvpLrqFT7WA/x/width=450/2805533.jpeg",
        "https://civitai-delivery-worker-prod.abc123.r2.cloudflarestorage.com/model/x",
        "https://b2.civitai.com/file/civitai-modelfiles/x",
    ):
        assert policy.check_url(url)[1] == 443
    hub = PlatformTarget(
        name="hf", kind=PlatformKind.HUGGINGFACE, base_url="https://huggingface.co", search_terms=()
    )
    policy = FetchPolicy.for_platform(hub.base_url, sorted(hub.hosts()))
    for url in (
        "https://us.aws.cdn.hf.co/xet-bridge-us/abc/def",
        "https://cas-bridge.xethub.hf.co/xet-bridge-us/abc",
        "https://cdn-lfs-us-1.huggingface.co/repos/ab/cd/ef",
    ):
        assert policy.check_url(url)[1] == 443


def test_real_civitai_image_listing() -> None:
    url = "https://civitai.com/api/v1/images?withMeta=true"
    page = parse_images_page(_load("civitai_images_docs.json"), _ctx(url, "https://civitai.com"))
    (image,) = page.items
    assert image.external_id == "9173928" and image.licence.nsfw is True
    assert image.model_version_ids == (9208, 249861, 258687, 332071, 345685)
    loras = [r for r in image.resources if r.type == "lora"]
    assert loras and loras[0].model_version_id == 249861 and loras[0].weight == 0.65
    assert page.next_url is not None and "cursor=" in page.next_url


def test_real_hub_expanded_listing_needs_no_repo_call() -> None:
    url = "https://huggingface.co/api/models?filter=text-to-image&expand[]=siblings"
    data = _load("hf_models_expanded.json")
    repos, skipped = parse_search_page(data, _ctx(url, "https://huggingface.co"))
    assert repos == ["latent-consistency/lcm-lora-sdxl", "nerijs/pixel-art-xl"] and not skipped
    for entry in data:
        assert not is_llm_adapter(entry)
        item = parse_model_info(entry, _ctx(url, "https://huggingface.co"))
        (weights,) = item.files
        assert weights.name.endswith(".safetensors")
        assert weights.url and "/resolve/" in weights.url
        assert "base_model:adapter:stabilityai/stable-diffusion-xl-base-1.0" in item.tags
    peft = {
        "id": "u/llama-sql-lora",
        "library_name": "peft",
        "pipeline_tag": "text-generation",
        "tags": ["peft", "safetensors", "lora", "text-generation"],
    }
    assert is_llm_adapter(peft)


def test_model_card_trigger_words() -> None:
    card = (
        "---\nlicense: openrail++\ninstance_prompt: pixel art\ntags:\n- lora\n---\n\n"
        "# Pixel Art XL\n\nUse the trigger word `pixel` or `pixel art`.\n"
        "Some `code` on a line about something else.\n"
    )
    words, text = card_triggers(card)
    assert words == ("pixel art", "pixel")
    assert text.startswith("# Pixel Art XL")

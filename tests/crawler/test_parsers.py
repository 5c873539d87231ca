"""Parsers on saved JSON shaped like the real APIs (fixtures/README.md)."""

from __future__ import annotations

import json
import struct
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crawler.exceptions import SafetensorsHeaderError
from crawler.items import CandidateKind, Placement
from crawler.parsers import ParseContext
from crawler.parsers.civitai import (
    commercial_use,
    next_page_url,
    parse_images_page,
    parse_models_page,
)
from crawler.parsers.huggingface import next_link, parse_model_info, parse_search_page
from crawler.parsers.safetensors import MAX_HEADER_BYTES, header_length, parse_header

FIXTURES = Path(__file__).with_name("fixtures")
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def load(name: str) -> object:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def ctx(url: str, base: str = "https://civitai.com", **kw: object) -> ParseContext:
    return ParseContext(
        platform="civitai", base_url=base, url=url, fetched_at=NOW, warc_record_id="<urn:x>", **kw
    )  # type: ignore[arg-type]


def _safetensors(metadata: dict[str, str], tensors: dict[str, object] | None = None) -> bytes:
    header = {"__metadata__": metadata, **(tensors or {})}
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw


def test_civitai_models_page_fields_and_skips() -> None:
    url = "https://civitai.com/api/v1/models?types=LORA&query=hero"
    page = parse_models_page(load("civitai_models.json"), ctx(url, term="hero", rank_offset=100))
    assert [m.external_id for m in page.items] == ["100001", "100002"]
    assert len(page.skipped) == 1 and "no integer id" in page.skipped[0]
    hero = page.items[0]
    assert hero.kind is CandidateKind.MODEL
    assert hero.page_url == "https://civitai.com/models/100001"
    assert hero.trigger_words == ("examplehero", "red cape")
    assert hero.version_ids == ("200001", "200002")
    assert hero.creator == "someuser"
    assert hero.tags == ("character", "anime")
    assert hero.licence.allow_commercial_use == ("Image", "RentCivit")
    assert hero.licence.allow_different_licence is False
    assert hero.files[0].sha256 == (
        "7f3e2d1c0ba9876543210fedcba9876543210fedcba9876543210fedcba98765"
    )
    assert hero.files[0].hashes["AutoV2"] == "7F3E2D1C0B"
    assert hero.files[0].size_bytes == int(147571.2 * 1024)
    assert hero.media_urls[0].endswith("/400001.jpeg")
    assert hero.created_at == datetime(2024, 1, 1, tzinfo=UTC)
    assert hero.stats["downloadCount"] == 1234
    assert hero.discovery.rank == 101 and hero.discovery.term == "hero"
    assert hero.warc_record_id == "<urn:x>"
    removed = page.items[1]
    assert removed.licence.mode == "TakenDown"
    assert removed.licence.allow_commercial_use == ("Sell",)
    assert page.next_url is not None and "cursor=75363" in page.next_url


def test_civitai_images_page_generation_metadata_and_end_of_data() -> None:
    url = "https://civitai.com/api/v1/images?modelVersionId=200001&withMeta=true"
    page = parse_images_page(load("civitai_images.json"), ctx(url))
    assert page.next_url is None  # nextCursor null = end of data
    image = page.items[0]
    assert image.kind is CandidateKind.IMAGE
    assert image.page_url == "https://civitai.com/images/9000001"
    assert image.prompt == "examplehero, red cape, city"
    assert image.negative_prompt == "blurry"
    assert image.model_version_ids == (200001, 345685)
    names = [(r.name, r.type, r.model_version_id) for r in image.resources]
    assert ("examplehero", "lora", None) in names
    assert (None, "lora", 200001) in names
    assert image.width == 832 and image.creator == "someuser"
    assert page.items[1].prompt is None


def test_civitai_cursor_built_when_next_page_missing() -> None:
    url = "https://civitai.com/api/v1/images?limit=100&cursor=old"
    nxt = next_page_url(url, {"metadata": {"nextCursor": "1|1744925337225"}})
    assert nxt == "https://civitai.com/api/v1/images?limit=100&cursor=1%7C1744925337225"
    assert next_page_url(url, {"metadata": {}}) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [("{Image,RentCivit}", ("Image", "RentCivit")), ("Rent", ("Rent",)), (["Sell"], ("Sell",))],
)
def test_commercial_use_forms(value: object, expected: tuple[str, ...]) -> None:
    assert commercial_use(value) == expected


def test_hf_search_and_link_pagination() -> None:
    url = "https://huggingface.co/api/models?search=hero&filter=lora"
    repos, skipped = parse_search_page(load("hf_search.json"), ctx(url, "https://huggingface.co"))
    assert repos == ["someuser/example-hero-lora", "another/hero-style"]
    assert skipped == ["entry 2 has no repo id"]
    header = '<https://huggingface.co/api/models?search=hero&cursor=eyJ>; rel="next"'
    assert next_link(header) == "https://huggingface.co/api/models?search=hero&cursor=eyJ"
    assert next_link('<https://x/prev>; rel="prev"') is None
    assert next_link(None) is None


def test_hf_model_info() -> None:
    c = ParseContext(
        platform="hf",
        base_url="https://huggingface.co",
        url="https://huggingface.co/api/models/someuser/example-hero-lora?blobs=true",
        fetched_at=NOW,
        placement=Placement.SEARCH,
    )
    model = parse_model_info(load("hf_model_info.json"), c)
    assert model.external_id == "someuser/example-hero-lora"
    assert model.page_url == "https://huggingface.co/someuser/example-hero-lora"
    assert model.trigger_words == ("examplehero",)
    assert model.instance_prompt == "examplehero"
    assert model.licence.licence == "openrail++"
    assert model.base_model == "stabilityai/stable-diffusion-xl-base-1.0"
    assert "character" in model.tags and model.tags.count("lora") == 1
    sha = "0123456789abcdef0123456789abcdef01234567"
    (weights,) = model.files
    assert weights.url == (
        f"https://huggingface.co/someuser/example-hero-lora/resolve/{sha}/example_hero.safetensors"
    )
    assert weights.sha256 == "ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12"
    assert weights.size_bytes == 228460000
    assert model.media_urls == (
        f"https://huggingface.co/someuser/example-hero-lora/resolve/{sha}/images/sample%201.png",
    )


def test_safetensors_header_parsed_and_hashed() -> None:
    blob = _safetensors(
        {"ss_output_name": "examplehero_v1", "ss_tag_frequency": '{"10_hero": {"hero": 25}}'},
        {"lora_up.weight": {"dtype": "F16", "shape": [4, 8], "data_offsets": [0, 64]}},
    )
    length = header_length("u", blob[:8])
    header = parse_header("u", length, blob[8 : 8 + length])
    assert header.metadata["ss_output_name"] == "examplehero_v1"
    assert header.tensor_count == 1
    assert len(header.header_sha256) == 64


@pytest.mark.parametrize(
    ("prefix", "message"),
    [
        (struct.pack("<Q", 2**63), "exceeds"),
        (struct.pack("<Q", MAX_HEADER_BYTES + 1), "exceeds"),
        (struct.pack("<Q", 0), "too small"),
        (b"\x01\x02", "2 of 8 length bytes"),
    ],
)
def test_absurd_header_lengths_refused(prefix: bytes, message: str) -> None:
    with pytest.raises(SafetensorsHeaderError, match=message):
        header_length("https://x/f.safetensors", prefix)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b'{"__metadata__": {"a": "b"', "not valid UTF-8 JSON"),
        (b"[1, 2]", "not an object"),
        (b'{"__metadata__": {"a": 1}}', "string-to-string"),
        (b'{"t": {"dtype": "F16", "shape": [2], "data_offsets": [9, 1]}}', "tensor 't'"),
        (b"\xff\xfe{}", "not valid UTF-8 JSON"),
    ],
)
def test_broken_headers_refused(raw: bytes, message: str) -> None:
    with pytest.raises(SafetensorsHeaderError, match=message):
        parse_header("https://x/f.safetensors", len(raw), raw)


def test_header_length_mismatch_refused() -> None:
    with pytest.raises(SafetensorsHeaderError, match="expected 10 header bytes, got 2"):
        parse_header("u", 10, b"{}")


def test_civitai_image_meta_reaches_the_engine_as_generation_provenance() -> None:
    from crawler.pipelines.match import build_evidence

    url = "https://civitai.com/api/v1/images?modelVersionId=200001&withMeta=true"
    image = parse_images_page(load("civitai_images.json"), ctx(url)).items[0]
    evidence = build_evidence(image)
    loras = {(u.name, u.model_version_id) for u in evidence.generation.loras}
    assert ("examplehero", None) in loras and (None, 200001) in loras
    assert evidence.generation.sources[0].value == "Civitai image metadata"
    assert evidence.images == () and evidence.decoded == ()  # no media fetched: nothing decoded

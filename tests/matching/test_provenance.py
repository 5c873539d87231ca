"""Generation provenance: A1111, ComfyUI, EXIF UserComment and Civitai meta, and hostile chunks."""

from __future__ import annotations

import io
import json
import struct
import zlib

from PIL import Image, PngImagePlugin

from matching import (
    CandidateEvidence,
    CharacterProfile,
    Decision,
    Engine,
    KnownLora,
    ProvenanceSource,
    SignalKind,
    decode_image,
    parse_a1111,
    parse_civitai_meta,
    parse_comfyui,
)
from matching.pngtext import MAX_CHUNK, png_text
from matching.provenance import MAX_TEXT
from tests.support.likeness import draw_scene

A1111 = (
    "masterpiece, yingxiong, red cape <lora:yingxiong_v1:0.8> <lyco:Styles/ink.safetensors:0.4>\n"
    "Negative prompt: blurry, <lora:ignored_negative:1>\n"
    "Steps: 20, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: 42, Size: 512x512, "
    'Model hash: 6ce0161689, Model: sd15, Lora hashes: "yingxiong_v1: 0123456789ab, '
    'ink: ba9876543210", Version: v1.6.0'
)

COMFY_PROMPT = {
    "3": {"class_type": "KSampler", "inputs": {"seed": 1, "model": ["10", 0]}},
    "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a hero in a red cape"}},
    "10": {
        "class_type": "LoraLoader",
        "inputs": {"lora_name": "chars/hero_style.safetensors", "strength_model": 0.7},
    },
}
COMFY_WORKFLOW = {
    "nodes": [
        {"id": 10, "type": "LoraLoader", "widgets_values": ["hero_style.safetensors", 0.7, 0.7]},
        {"id": 11, "type": "LoraLoaderModelOnly", "widgets_values": ["other.safetensors", 1.0]},
        {"id": 6, "type": "CLIPTextEncode", "widgets_values": ["a hero"]},
    ]
}


def _png_with(texts: dict[str, str], *, z: bool = False) -> bytes:
    info = PngImagePlugin.PngInfo()
    for key, value in texts.items():
        info.add_text(key, value, zip=z)
    out = io.BytesIO()
    draw_scene(3, 64).save(out, "PNG", pnginfo=info)
    return out.getvalue()


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _insert_after_ihdr(png: bytes, chunk: bytes) -> bytes:
    return png[:33] + chunk + png[33:]


def test_a1111_parameters_name_loras_weights_and_hashes() -> None:
    found = parse_a1111(A1111)
    by_name = {u.name: u for u in found.loras}
    assert set(by_name) == {"yingxiong_v1", "ink"}
    assert by_name["yingxiong_v1"].weight == 0.8
    assert by_name["yingxiong_v1"].hash == "0123456789ab"
    assert by_name["ink"].hash == "ba9876543210" and by_name["ink"].weight == 0.4
    assert "ignored_negative" not in found.prompt and found.prompt.startswith("masterpiece")
    assert found.sources == (ProvenanceSource.A1111,)


def test_a1111_hashes_json_and_a_prompt_without_settings() -> None:
    text = 'x <lora:a:1>\nSteps: 1, Seed: 2, Hashes: {"lora:hero": "deadbeef01", "model": "ff"}'
    found = parse_a1111(text)
    assert {(u.name, u.hash) for u in found.loras} == {("a", None), ("hero", "deadbeef01")}
    assert parse_a1111("just a prompt <lora:solo>").loras[0].name == "solo"


def test_png_parameters_chunk_is_read_when_decoding() -> None:
    for z in (False, True):
        decoded = decode_image(_png_with({"parameters": A1111}, z=z), label="gen.png")
        assert {u.name for u in decoded.provenance.loras} == {"yingxiong_v1", "ink"}


def test_comfyui_prompt_and_workflow_chunks() -> None:
    prompt = parse_comfyui(json.dumps(COMFY_PROMPT), ProvenanceSource.COMFYUI_PROMPT)
    assert [(u.name, u.weight) for u in prompt.loras] == [("hero_style", 0.7)]
    assert prompt.prompt == "a hero in a red cape"
    workflow = parse_comfyui(json.dumps(COMFY_WORKFLOW), ProvenanceSource.COMFYUI_WORKFLOW)
    assert [u.name for u in workflow.loras] == ["hero_style", "other"]
    decoded = decode_image(
        _png_with({"prompt": json.dumps(COMFY_PROMPT), "workflow": json.dumps(COMFY_WORKFLOW)}),
        label="comfy.png",
    )
    assert {u.name for u in decoded.provenance.loras} == {"hero_style", "other"}


def test_jpeg_exif_user_comment_in_utf16_is_read() -> None:
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9286] = b"UNICODE\x00" + A1111.encode("utf-16-be")
    out = io.BytesIO()
    draw_scene(4, 64).save(out, "JPEG", exif=exif)
    decoded = decode_image(out.getvalue(), label="gen.jpg")
    assert {u.name for u in decoded.provenance.loras} == {"yingxiong_v1", "ink"}
    assert decoded.provenance.sources == (ProvenanceSource.EXIF_USER_COMMENT,)


def test_jpeg_comment_segment_is_read() -> None:
    out = io.BytesIO()
    draw_scene(5, 64).save(out, "JPEG", comment=A1111.encode())
    decoded = decode_image(out.getvalue(), label="gen.jpg")
    assert {u.name for u in decoded.provenance.loras} == {"yingxiong_v1", "ink"}
    assert decoded.provenance.sources == (ProvenanceSource.JPEG_COMMENT,)


def test_civitai_meta_resources_civitai_resources_and_hashes() -> None:
    meta = {
        "prompt": "hero <lora:heroLora:0.9>",
        "resources": [
            {"name": "heroLora", "type": "lora", "weight": 0.9, "hash": "AABBCCDDEE"},
            {"name": "base", "type": "model", "hash": "1111111111"},
        ],
        "civitaiResources": [{"type": "lora", "modelVersionId": 4242, "weight": 1}],
        "hashes": {"lora:other": "0011223344"},
    }
    found = parse_civitai_meta(meta)
    assert {(u.name, u.hash, u.model_version_id) for u in found.loras} == {
        ("heroLora", "aabbccddee", None),
        (None, None, 4242),
        ("other", "0011223344", None),
    }
    assert parse_civitai_meta("not a mapping").loras == ()


def test_hostile_chunks_are_bounded_and_never_stop_the_decode() -> None:
    base = _png_with({})
    # a zTXt bomb: 1 kB that inflates to 64 MB
    bomb = _chunk(b"zTXt", b"parameters\x00\x00" + zlib.compress(b"a" * (64 * 2**20), 9))
    # deeply nested JSON, a huge tEXt, and a truncated chunk header
    nested = _chunk(b"tEXt", b"prompt\x00" + b"[" * 200_000)
    huge = _chunk(b"tEXt", b"workflow\x00" + b"x" * (MAX_CHUNK + 10))
    data = _insert_after_ihdr(base, bomb + nested + huge)
    decoded = decode_image(data, label="hostile.png")
    assert decoded.rgb.shape[2] == 3
    assert decoded.provenance.loras == ()
    problems = " ".join(decoded.provenance.problems)
    assert "inflates past" in problems and "above the limit" in problems
    assert "not JSON" in problems
    assert png_text(b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x10\x00tEXt").texts == {}
    long_line = "a" * (MAX_TEXT * 4)
    assert parse_a1111(long_line).problems
    assert parse_a1111("Steps: " + "x " * 50_000 + "\n" + "b, " * 50_000).loras == ()


def _engine(known: tuple[KnownLora, ...] = ()) -> Engine:
    return Engine(
        [
            CharacterProfile("Hero", {"zh-Latn-pinyin": ("yingxiong",)}),
            CharacterProfile("Villain"),
        ],
        [],
        known_loras=known,
    )


def test_a_lora_named_after_an_alias_flags_the_image() -> None:
    png = _png_with({"parameters": A1111.replace("masterpiece, yingxiong, ", "")})
    verdicts = _engine().judge(CandidateEvidence(label="gen.png", images=(png,)))
    top = verdicts[0]
    assert top.character == "Hero" and top.decision is Decision.FLAG
    reason = next(r for r in top.reasons if r.kind is SignalKind.GENERATION)
    assert "generated with LoRA 'yingxiong_v1' (A1111 parameters)" in reason.sentence
    assert "pinyin alias 'yingxiong' of Hero" in reason.sentence


def test_an_image_made_with_a_flagged_lora_is_linked_by_hash_version_or_name() -> None:
    known = KnownLora(
        character="Villain",
        label="civitai model 77 'Dark Lord'",
        names=("Dark Lord", "darklord_v2.safetensors"),
        hashes=("0123456789abcdef" + "0" * 48, "ABCDEF0123"),
        model_version_ids=(4242,),
        trigger_words=("villain",),
        finding="flagged, score 0.97",
    )
    engine = _engine((known,))
    by_hash = _png_with({"parameters": A1111.replace("yingxiong", "mystery")})
    top = engine.judge(CandidateEvidence(images=(by_hash,)))[0]
    assert top.character == "Villain" and top.decision is Decision.FLAG
    sentences = " | ".join(r.sentence for r in top.reasons)
    assert (
        "generated with LoRA 'mystery_v1' (A1111 parameters), which is civitai model 77 "
        "'Dark Lord' by hash 0123456789ab, flagged as resembling Villain" in sentences
    )
    assert "trigger word 'villain'" in sentences
    meta = parse_civitai_meta({"civitaiResources": [{"type": "LORA", "modelVersionId": 4242}]})
    assert engine.judge(CandidateEvidence(generation=meta))[0].decision is Decision.FLAG
    by_name = parse_a1111("portrait <lora:darklord_v2:1>")
    named = _engine((known.__class__(**{**known.__dict__, "trigger_words": ()}),))
    top = named.judge(CandidateEvidence(generation=by_name))[0]
    assert top.character == "Villain" and top.decision is Decision.REVIEW
    assert "by name" in top.reasons[0].sentence
    # a short hash prefix never links
    short = parse_a1111('x\nSteps: 1, Seed: 1, Lora hashes: "thing: 0123"')
    assert engine.judge(CandidateEvidence(generation=short)) == []

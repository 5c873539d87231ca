"""safetensors headers: parsing, absurd lengths, broken JSON, and LoRA forensics."""

from __future__ import annotations

import io
import json
import re
import struct
from pathlib import Path

import pytest

from matching import (
    CandidateEvidence,
    CharacterProfile,
    Decision,
    Engine,
    SafetensorsHeaderError,
    header_length,
    parse_safetensors_header,
    read_safetensors_header,
)

METADATA = {
    "ss_output_name": "aoteman_v2",
    "ss_training_comment": "trained on screenshots",
    "modelspec.title": "Silver Giant",
    "ss_tag_frequency": json.dumps({"10_aoteman": {"aoteman": 212, "1boy": 150, "city": 40}}),
    "ss_dataset_dirs": json.dumps({"10_aoteman": {"n_repeats": 10, "img_count": 240}}),
}


def _safetensors(header: dict[str, object]) -> bytes:
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + b"\x00" * 4


def _lora(metadata: dict[str, str]) -> bytes:
    tensor = {"dtype": "F16", "shape": [2], "data_offsets": [0, 4]}
    return _safetensors({"__metadata__": metadata, "lora_up.weight": tensor})


def test_header_is_read_from_bytes_file_and_path(tmp_path: Path) -> None:
    data = _lora(METADATA)
    path = tmp_path / "m.safetensors"
    path.write_bytes(data)
    for source in (data, io.BytesIO(data), path):
        header = read_safetensors_header(source)
        assert header.metadata["ss_output_name"] == "aoteman_v2"
        assert header.tensor_count == 1


def test_range_fetch_api_parses_prefix_and_header() -> None:
    data = _lora(METADATA)
    length = header_length(data[:8], label="https://example.test/m.safetensors")
    header = parse_safetensors_header(data[:8], data[8 : 8 + length], label="remote")
    assert header.header_length == length
    assert header.metadata["modelspec.title"] == "Silver Giant"


def test_absurd_header_length_is_refused() -> None:
    data = struct.pack("<Q", 2**63) + b"{}"
    with pytest.raises(SafetensorsHeaderError, match=re.escape("huge.safetensors: header length")):
        read_safetensors_header(data, label="huge.safetensors")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (struct.pack("<Q", 10) + b"{not json}", "not valid UTF-8 JSON"),
        (struct.pack("<Q", 100) + b"{}", "truncated"),
        (b"\x01\x02", "too short"),
        (struct.pack("<Q", 2) + b"[]", "not an object"),
    ],
)
def test_broken_headers_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(SafetensorsHeaderError, match=message):
        read_safetensors_header(data, label="bad.safetensors")


def test_deeply_nested_or_oversized_headers_name_the_file() -> None:
    """One policy for every caller: 8 MiB cap, nesting limit, string metadata."""
    nested = b'{"t": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    data = struct.pack("<Q", len(nested)) + nested
    with pytest.raises(SafetensorsHeaderError, match=r"deep\.safetensors: .*nested too deeply"):
        read_safetensors_header(data, label="deep.safetensors")
    shallow = b'{"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": 1}}}}}}}}}'
    with pytest.raises(SafetensorsHeaderError, match="nested too deeply"):
        read_safetensors_header(struct.pack("<Q", len(shallow)) + shallow, label="x")
    big = struct.pack("<Q", 8 * 1024 * 1024 + 1) + b"{}"
    with pytest.raises(SafetensorsHeaderError, match=r"big\.safetensors: .*8,388,608"):
        read_safetensors_header(big, label="big.safetensors")
    numbers = b'{"__metadata__": {"ss_epoch": 10}}'
    with pytest.raises(SafetensorsHeaderError, match="string-to-string"):
        read_safetensors_header(struct.pack("<Q", len(numbers)) + numbers, label="n")


def test_lora_forensics_count_training_captions() -> None:
    engine = Engine([CharacterProfile("Ultraman", {"zh-Latn-pinyin": ("aoteman",)})], [])
    header = read_safetensors_header(_lora(METADATA))
    (verdict,) = engine.judge(CandidateEvidence(lora_metadata=header.metadata))
    assert verdict.decision is Decision.FLAG
    sentences = [r.sentence for r in verdict.reasons]
    assert sentences[0] == (
        "'aoteman' in 212 of 240 training captions (ss_tag_frequency) names Ultraman"
    )
    assert any("ss_output_name" in s for s in sentences)
    assert any("ss_dataset_dirs" in s for s in sentences)


def test_trained_words_and_instance_prompt_are_signals() -> None:
    engine = Engine([CharacterProfile("Ultraman")], [])
    civitai = engine.judge(CandidateEvidence(trained_words=("ultraman",)))
    assert civitai[0].decision is Decision.REVIEW
    assert "Civitai trained word 'ultraman'" in civitai[0].reasons[0].sentence
    hf = engine.judge(CandidateEvidence(instance_prompt="a photo of sks ultraman"))
    assert "Hugging Face instance prompt" in hf[0].reasons[0].sentence


def test_malformed_metadata_values_are_ignored_not_fatal() -> None:
    engine = Engine([CharacterProfile("Ultraman")], [])
    metadata = {"ss_tag_frequency": "{broken", "ss_dataset_dirs": "[]", "ss_output_name": "x"}
    assert engine.judge(CandidateEvidence(lora_metadata=metadata)) == []

"""Hash values, golden hashes of the fixture reference, and the index backends."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from matching import (
    Backend,
    BinaryIndex,
    HashKind,
    MatchingError,
    Orientation,
    PerceptualHash,
    decode_image,
    hash_image,
)
from matching.hashes import dihedral_hashes
from matching.index import Hits

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "matching"


def test_golden_hashes_of_the_fixture_reference() -> None:
    expected = json.loads((FIXTURES / "expected_hashes.json").read_text())
    data = (FIXTURES / "reference.png").read_bytes()
    decoded = decode_image(data, label="reference.png")
    hashes = hash_image(decoded.rgb)
    assert str(hashes.pdq) == expected["pdq"]
    assert hashes.pdq_quality == expected["pdq_quality"]
    assert str(hashes.phash) == expected["phash"]
    assert str(hashes.dhash) == expected["dhash"]
    assert str(dihedral_hashes(decoded.rgb)[Orientation.MIRRORED].pdq) == expected["mirrored_pdq"]


def test_hash_operators_are_honest() -> None:
    a = PerceptualHash(HashKind.PHASH, bytes.fromhex("ff00ff00ff00ff00"))
    b = PerceptualHash(HashKind.PHASH, bytes.fromhex("ff00ff00ff00ff0f"))
    assert a - b == 4
    assert b - a == 4
    assert a - a == 0
    assert str(a) == "ff00ff00ff00ff00"
    assert PerceptualHash.parse(HashKind.PHASH, str(a)) == a
    assert hash(PerceptualHash.parse(HashKind.PHASH, str(a))) == hash(a)
    assert a != b
    assert len({a, b, PerceptualHash.parse(HashKind.PHASH, str(b))}) == 2


def test_hash_operators_refuse_mismatches() -> None:
    phash = PerceptualHash(HashKind.PHASH, bytes(8))
    pdq = PerceptualHash(HashKind.PDQ, bytes(32))
    with pytest.raises(MatchingError, match="cannot compare"):
        _ = phash - pdq
    with pytest.raises(MatchingError, match="needs 8 bytes"):
        PerceptualHash(HashKind.PHASH, bytes(5))
    with pytest.raises(MatchingError, match="not a hex hash"):
        PerceptualHash.parse(HashKind.PHASH, "zz")


def test_faiss_and_numpy_backends_agree() -> None:
    rng = np.random.default_rng(3)
    codes = rng.integers(0, 256, size=(500, 32), dtype=np.uint8)
    queries = codes[:50].copy()
    queries[:, 0] ^= 0b111  # three bits off each
    queries[10:] = rng.integers(0, 256, size=(40, 32), dtype=np.uint8)
    fast = BinaryIndex(codes, backend=Backend.FAISS).range_search(queries, 31)
    slow = BinaryIndex(codes, backend=Backend.NUMPY).range_search(queries, 31)

    def as_set(h: Hits) -> set[tuple[int, int, int]]:
        return set(zip(h.query.tolist(), h.entry.tolist(), h.distance.tolist(), strict=True))

    assert as_set(fast) == as_set(slow)
    assert {(q, q, 3) for q in range(10)} <= as_set(fast)
    ids_f, d_f = BinaryIndex(codes).nearest(queries)
    _ids, d_n = BinaryIndex(codes, backend=Backend.NUMPY).nearest(queries)
    assert d_f.tolist() == d_n.tolist()
    assert ids_f[:10].tolist() == list(range(10))

"""Speed of the likeness engine, against baselines measured in the same process.

1. Images hashed per second on one core: ``decode_image`` + ``hash_image`` (PDQ, pHash, dHash,
   JPEG draft decoding) vs ``imagehash.phash(Image.open(p))`` on the same 1024x1024 JPEGs.
2. 100,000 candidates vs 10,000 references (PDQ, 256 bits) on one core: ``BinaryIndex`` vs
   faiss ``IndexBinaryFlat.range_search`` used directly, plus the numpy backend (sampled) and
   the engine's real layout (18 rows per reference, review radius; sampled).
3. Local-feature stage: ORB extraction per candidate and verification per shortlisted pair.
4. End-to-end ``scan_files`` files per second on 1 and 2 processes (and what the pool
   chooses by itself), alternating 1 and 2 so that both see the same machine load; the ratio
   is the figure to read on a shared machine.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/likeness_speed.py          # ~5 minutes
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/likeness_speed.py --only scan --files 1000
"""

from __future__ import annotations

import argparse
import io
import os
import random
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import faiss
import imagehash
import numpy as np
from PIL import Image

from crawler.engine_builder import EngineSpec
from matching import CharacterProfile, Thresholds, decode_image, fingerprint_reference, hash_image
from matching.index import Backend, BinaryIndex, limit_threads
from matching.local import extract_features, verify
from rightswatch.scanpool import choose_processes, scan_files, usable_cpus
from tests.support.likeness import TRANSFORMS, draw_character, draw_scene, encode


def table(header: list[str], rows: list[list[object]]) -> None:
    def cell(v: object) -> str:
        if isinstance(v, float):
            return f"{v:.2e}" if v >= 1e5 else f"{v:.2f}"
        return str(v)

    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(cell(v) for v in row) + " |")
    print()


def best_of(runs: int, fn: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def hashing(count: int) -> None:
    jpegs = []
    for k in range(count):
        base = draw_character(k, 512) if k % 2 else draw_scene(k, 512)
        jpegs.append(encode(base.resize((1024, 1024), Image.BICUBIC), "JPEG", 90))
    t_base = best_of(2, lambda: [imagehash.phash(Image.open(io.BytesIO(b))) for b in jpegs])
    t_ours = best_of(2, lambda: [hash_image(decode_image(b, label="x").rgb) for b in jpegs])

    def full() -> None:
        for b in jpegs:
            d = decode_image(b, label="x")
            hash_image(d.rgb)
            extract_features(d.grey)

    t_full = best_of(2, full)
    t_small = best_of(
        2, lambda: [hash_image(decode_image(b, label="x", working_side=128).rgb) for b in jpegs]
    )
    print(f"## 1. Hashing {count} JPEG q90 1024x1024 images, one core (best of 2)\n")
    table(
        ["pipeline", "images/s", "vs baseline"],
        [
            ["imagehash.phash(Image.open(p)) (baseline: 64-bit pHash)", count / t_base, 1.0],
            ["decode_image + hash_image (512 frame; PDQ, pHash, dHash)", count / t_ours,
             t_base / t_ours],
            ["decode_image(working_side=128) + hash_image (hash-only path)", count / t_small,
             t_base / t_small],
            ["512 frame + hashes + ORB (what judge computes per image)", count / t_full,
             t_base / t_full],
        ],
    )  # fmt: skip


def search(candidates: int, references: int) -> None:
    rng = np.random.default_rng(7)
    refs = rng.integers(0, 256, size=(references, 32), dtype=np.uint8)
    cands = rng.integers(0, 256, size=(candidates, 32), dtype=np.uint8)
    planted = rng.choice(candidates, size=1000, replace=False)
    cands[planted] = refs[rng.integers(0, references, size=1000)]
    cands[planted, :2] ^= 0x0F  # 8 bits off
    flat = faiss.IndexBinaryFlat(256)
    flat.add(refs)
    ours = BinaryIndex(refs)
    t_faiss = best_of(2, lambda: flat.range_search(cands, 32))
    t_ours = best_of(2, lambda: ours.range_search(cands, 31))
    hits = len(ours.range_search(cands, 31))
    sample = 2000
    slow = BinaryIndex(refs, backend=Backend.NUMPY)
    t_numpy = best_of(1, lambda: slow.range_search(cands[:sample], 31)) * candidates / sample
    rows = np.repeat(refs, 18, axis=0)
    rows[:, 5] ^= np.tile(np.arange(18, dtype=np.uint8), references)
    engine_index = BinaryIndex(rows)
    esample = 10_000
    t_engine = (
        best_of(1, lambda: engine_index.range_search(cands[:esample], 62)) * candidates / esample
    )
    per_query = (
        best_of(1, lambda: [engine_index.range_search(c[None, :], 62) for c in cands[:300]]) / 300
    )
    pairs = candidates * references
    print(f"## 2. Search: {candidates:,} x {references:,} PDQ 256-bit, one core\n")
    print(f"{hits} pairs within distance 31 (1,000 planted).\n")
    table(
        ["method", "seconds", "pairs/s", "vs faiss IndexBinaryFlat"],
        [
            ["faiss IndexBinaryFlat.range_search (baseline)", t_faiss, pairs / t_faiss, 1.0],
            ["matching BinaryIndex (faiss backend), radius 31", t_ours, pairs / t_ours,
             t_faiss / t_ours],
            [f"matching BinaryIndex (numpy backend; {sample:,} sampled)", t_numpy,
             pairs / t_numpy, t_faiss / t_numpy],
            [f"engine layout: 18 rows/reference, radius 62 ({esample:,} sampled)", t_engine,
             18 * pairs / t_engine, "-"],
            ["engine layout, one candidate per call (ms per candidate)", per_query * 1000, "-",
             "-"],
        ],
    )  # fmt: skip


def local_stage(pairs: int) -> None:
    refs = [
        fingerprint_reference(encode(draw_character(k)), name=f"r{k}", character="C")
        for k in range(pairs)
    ]
    rng = random.Random(3)
    cands = [
        decode_image(
            encode(TRANSFORMS["placed 30-60 % in a scene"][1](draw_character(k), rng), "JPEG", 90),
            label="c",
        )
        for k in range(pairs)
    ]
    feats = []
    t_extract = best_of(1, lambda: feats.extend(extract_features(c.grey) for c in cands)) / pairs

    def run(offset: int) -> None:
        for k, c in enumerate(cands):
            r = refs[(k + offset) % pairs]
            verify(
                c.rgb,
                feats[k],
                r.thumbnail,
                r.features,
                reference_frame=r.frame_size,
                mirrored=False,
                min_inliers=12,
            )

    t_true = best_of(2, lambda: run(0)) / pairs
    t_false = best_of(2, lambda: run(1)) / pairs
    print(f"## 3. Local-feature stage ({pairs} candidates, 512x512 scenes)\n")
    print("| step | cost |")
    print("|---|---|")
    print(f"| ORB extraction per candidate image | {t_extract * 1000:.1f} ms |")
    print(f"| match + MAGSAC + rectified re-hash, genuine pair | {t_true * 1000:.1f} ms |")
    print(f"| same, impostor pair | {t_false * 1000:.1f} ms |")
    print()


def _cpu_seconds() -> float:
    """User + system CPU of this process and of its finished (joined) children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def scan(files: int) -> None:
    names = [f"Char{k}" for k in range(8)]
    fps = [
        fingerprint_reference(encode(draw_character(k)), name=f"c{k}.png", character=n).to_json()
        for k, n in enumerate(names)
    ]
    spec = EngineSpec(tuple(CharacterProfile(n) for n in names), tuple(fps), Thresholds())
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        rng = random.Random(5)
        for k in range(files):
            img = (
                TRANSFORMS["jpeg q20"][1](draw_character(k % 8), rng)
                if k % 4 == 0
                else draw_scene(k, 384)
            )
            p = Path(tmp) / f"{k:04d}.jpg"
            img.convert("RGB").resize((768, 768)).save(p, quality=90)
            paths.append(p)
        print(f"## 4. End-to-end scan_files, {files} JPEG 768x768 files, 8 references\n")
        load = os.getloadavg()[0]
        times: dict[int, list[float]] = {1: [], 2: []}
        cpu: dict[int, list[float]] = {1: [], 2: []}
        for _round in range(2):
            for workers in (1, 2):
                cpu_before = _cpu_seconds()
                started = time.perf_counter()
                results = list(scan_files(paths, spec, workers=workers))
                times[workers].append(time.perf_counter() - started)
                cpu[workers].append(_cpu_seconds() - cpu_before)
                assert len(results) == files
        print(
            "| processes | files/s (best of 2, alternating) | vs one process "
            "| CPU seconds (all processes) | files per CPU second |"
        )
        print("|---|---|---|---|---|")
        one = files / min(times[1])
        for workers in (1, 2):
            rate = files / min(times[workers])
            used = min(cpu[workers])
            print(
                f"| {workers} | {rate:.1f} | {rate / one:.2f}x | {used:.1f} | {files / used:.1f} |"
            )
        efficiency = min(cpu[1]) / min(cpu[2])
        print(
            f"\nparallel efficiency (CPU time of one process / of two): {efficiency:.2f}, so two "
            f"idle cores would give at most {2 * efficiency:.2f}x; the pool's own choice for "
            f"{files} files on {usable_cpus()} usable CPUs: {choose_processes(files)} "
            f"process(es); load average at start {load:.1f}, at end {os.getloadavg()[0]:.1f}"
        )
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=60)
    parser.add_argument("--candidates", type=int, default=100_000)
    parser.add_argument("--references", type=int, default=10_000)
    parser.add_argument("--pairs", type=int, default=30)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument(
        "--only", action="append", choices=["hashing", "search", "local", "scan"], help="repeatable"
    )
    args = parser.parse_args()
    limit_threads(1)
    sections = {
        "hashing": lambda: hashing(args.images),
        "search": lambda: search(args.candidates, args.references),
        "local": lambda: local_stage(args.pairs),
        "scan": lambda: scan(args.files),
    }
    for name in args.only or list(sections):
        sections[name]()


if __name__ == "__main__":
    main()

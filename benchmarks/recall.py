"""Look-alike recall and false alarms of ``rightswatch crawl`` on the sandbox's default world.

    .venv/bin/python -m benchmarks.recall [--items 300] [--no-token]

Starts a default sandbox (real behaviours: robots.txt, CDN redirects, mature content, every
model type, untagged Hub LoRAs, rate-limit headers), writes the demo client, crawls Civitai and
Hugging Face as ``rightswatch crawl`` does (with ``CIVITAI_TOKEN`` unless ``--no-token``), then
compares the findings with the ground truth (which the product never reads). Prints, per
platform and kind: look-alikes found (flagged or queued) of all, innocents flagged, innocents
queued; and the look-alikes found per model type, mature level and Hub flavour.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import select

from crawler.crawl import run_crawl
from evidence.models import Candidate, Finding, Platform
from evidence.store import Store
from rightswatch.config import load_config
from rightswatch.crawling import plan_from_config
from rightswatch.library import sync_config
from rightswatch.scan import refresh_fingerprints
from sandbox.client import write_client
from tests.support.sandbox import start_sandbox

API = ("civitai", "huggingface")


def decisions(store: Store) -> dict[tuple[str, str, str], str]:
    """(platform, kind, id) -> the strongest decision of its findings."""
    out: dict[tuple[str, str, str], str] = {}
    with store.session() as session:
        rows = session.execute(
            select(Platform.name, Candidate.kind, Candidate.external_id, Finding.decision)
            .join(Candidate, Finding.candidate_id == Candidate.id)
            .join(Platform, Candidate.platform_id == Platform.id)
        )
        for platform, kind, external_id, decision in rows:
            key = (platform, kind.value, str(external_id))
            if out.get(key) != "flag":
                out[key] = decision.value
    return out


def measure(truth: list[dict[str, Any]], found: dict[tuple[str, str, str], str]) -> None:
    for platform in API:
        for kind in ("model", "image"):
            rows = [r for r in truth if r["platform"] == platform and r["kind"] == kind]
            if not rows:
                continue
            positives = [r for r in rows if r["character"]]
            innocents = [r for r in rows if not r["character"]]
            said = {
                str(r["external_id"]): found.get((platform, kind, str(r["external_id"])))
                for r in rows
            }
            hit = [r for r in positives if said[str(r["external_id"])] in ("flag", "review")]
            flagged = [r for r in innocents if said[str(r["external_id"])] == "flag"]
            queued = [r for r in innocents if said[str(r["external_id"])] == "review"]
            share = 100 / max(1, len(innocents))
            print(
                f"{platform:12} {kind:6} look-alikes found {len(hit)}/{len(positives)} "
                f"({100 * len(hit) / max(1, len(positives)):.1f} %); innocents flagged "
                f"{len(flagged)}/{len(innocents)} ({len(flagged) * share:.1f} %), "
                f"queued {len(queued)} ({len(queued) * share:.1f} %)"
            )
            for field in ("type", "nsfw_level", "flavour", "browsing_level", "how"):
                if field not in rows[0] or (field == "how" and kind == "image"):
                    continue
                total = Counter(str(r.get(field)) for r in positives)
                got = Counter(str(r.get(field)) for r in hit)
                shown = ", ".join(f"{k} {got[k]}/{n}" for k, n in sorted(total.items()))
                print(f"    by {field}: {shown}")
            # Innocent by pixels, but posted under a look-alike model: a flag here carries a
            # "generated with LoRA ..." reason (matching/generation.py), shown apart.
            lookalike_models = {
                str(m["external_id"])
                for m in truth
                if m["platform"] == platform and m["kind"] == "model" and m["character"]
            }
            via_lora = [r for r in flagged if str(r.get("model_id")) in lookalike_models]
            if via_lora:
                print(
                    f"    of the innocents flagged, {len(via_lora)} were posted under a "
                    f"look-alike model (flagged from their generation data); "
                    f"{len(flagged) - len(via_lora)} otherwise"
                )
            missed = [f"{r['external_id']}:{r.get('how')}" for r in positives if r not in hit]
            if missed:
                print(f"    missed: {', '.join(missed[:12])}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=300)
    parser.add_argument("--no-token", action="store_true")
    args = parser.parse_args()
    if not args.no_token:
        os.environ["CIVITAI_TOKEN"] = "sandbox-token"
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(os.environ.get("RECALL_DIR") or tmp)
        with start_sandbox(root / "sandbox", items=args.items) as server:
            write_client(server.url, root / "client")
            config = load_config(root / "client" / "watch.toml")
            store = Store.open(f"sqlite:///{root / 'case.db'}")
            sync_config(store, config)
            refresh_fingerprints(store)
            plan = plan_from_config(config, store.url, platforms=API)
            started = time.monotonic()
            report = run_crawl(plan, timeout_s=900)
            print(f"crawl {report.status.value} in {time.monotonic() - started:.0f} s")
            if report.error:
                print(report.error)
                print(report.log_file.read_text(encoding="utf-8")[-3000:])
            for p in report.platforms:
                print(f"  {p.name}: {p.finish_reason} {dict(p.counters)} error={p.error}")
                for note in p.notes:
                    print(f"    note: {note}")
                for wait in p.waits:
                    print(f"    wait: {wait}")
            measure(server.truth(), decisions(store))
            store.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

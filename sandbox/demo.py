"""``make demo``: one monitoring run against the sandbox, end to end, as a user would do it.

1. start the sandbox (a child process that prints its URL), with its state cached in
   ``.demo/sandbox`` so a second demo starts faster;
2. write the demo client (reference images, watch.toml aimed at the sandbox, the test TSA's root);
3. ``rightswatch keys init`` (once), then ``rightswatch run`` (crawl, match, seal evidence);
4. ``rightswatch verify`` the top finding's bundle, as an opposing expert would;
5. compare the findings with the sandbox's ground truth (for this summary only: the product
   never reads it), and stop the sandbox.

The sandbox imports nothing of the product: every rightswatch step is a child process.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

RIGHTSWATCH = [sys.executable, "-m", "rightswatch"]


def _step(title: str) -> None:
    print(f"\n== {title}", flush=True)


def _run(args: Sequence[str], cwd: Path, *, capture: bool = False) -> str:
    print("$ rightswatch " + " ".join(args[len(RIGHTSWATCH) :]), flush=True)
    done = subprocess.run(list(args), cwd=cwd, check=False, text=True, capture_output=capture)
    if done.returncode != 0:
        if capture:
            sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(
            f"demo failed: {' '.join(args[len(RIGHTSWATCH) :])} exited {done.returncode}"
        )
    return done.stdout if capture else ""


def _start_sandbox(state: Path, items: int) -> tuple[subprocess.Popen[str], str]:
    cmd = [sys.executable, "-m", "sandbox", "serve", "--port", "0", "--state-dir", str(state)]
    if items:
        cmd += ["--items", str(items)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    if not url.startswith("http://127.0.0.1:"):
        proc.kill()
        raise SystemExit(f"demo failed: the sandbox did not start (printed {url!r})")
    return proc, url


def _truth_summary(url: str, findings: list[dict[str, Any]]) -> None:
    with urllib.request.urlopen(f"{url}/sandbox/truth.json", timeout=30) as resp:  # noqa: S310
        truth = json.load(resp)
    crawled = {f["platform"] for f in findings} | {"civitai", "huggingface", "gallery"}
    positives: dict[tuple[str, str, str], set[str]] = {}
    for t in truth:
        # an item shown by several gallery styles is one look-alike per style (platform)
        shown = [(t["platform"], t["external_id"])]
        shown += [(site, s["external_id"]) for site, s in (t.get("sites") or {}).items()]
        depicted = set(t.get("characters") or ([t["character"]] if t["character"] else []))
        for platform, external_id in dict.fromkeys(shown):
            if depicted and platform in crawled:
                positives[(platform, t["kind"], str(external_id))] = depicted
    flagged: dict[tuple[str, str, str], set[str]] = {}
    for f in findings:
        if f["decision"] in ("flag", "review"):
            key = (f["platform"], f["kind"], str(f["external_id"]))
            flagged.setdefault(key, set()).add(f["character"])
    hits = [k for k in flagged if k in positives]
    # a pair shows two characters: a finding for either is right, one for a third is not
    wrong_character = [k for k in hits if not flagged[k] <= positives[k]]
    print(
        f"ground truth: {len(positives)} look-alike items in the sandbox; rightswatch flagged "
        f"or queued {len(flagged)}, of which {len(hits)} are look-alikes "
        f"({len(flagged) - len(hits)} false alarms, {len(wrong_character)} attributed to the "
        f"wrong character); {len(positives) - len(hits)} look-alikes not flagged"
    )


def _after_review(
    client: Path, work: Path, findings: list[dict[str, Any]], top: dict[str, Any]
) -> None:
    """A reviewer confirms from the command line, a notice is drafted, a flagged model is
    exported with its header and hashes, and a copy of the case folder is verified."""
    top_id = str(top.get("finding_id") or "")
    if top_id:
        _step("a reviewer confirms the top finding; a notice is drafted")
        _run([*RIGHTSWATCH, "findings", "confirm", top_id, "--reviewer", "Demo Reviewer",
              "--reason", "same character design as the reference"], client)  # fmt: skip
        notice = json.loads(_run([*RIGHTSWATCH, "notice", top_id, "--template",
                                  "civil-code-1195", "--json"], client, capture=True))  # fmt: skip
        print(f"notice:              {notice['path']}")
    models = [f for f in findings if f["kind"] == "model" and f["decision"] == "flag"]
    # its listing is sealed too: a gallery's home or feed page (robots.txt disallows Civitai's
    # /api/* and /search/* to page captures, real-platforms.md Civitai 1)
    model = next((f for f in models if f["platform"].startswith("gallery")), None)
    model = model or next(iter(models), None)
    if model is not None:
        _step(f"a flagged model (finding {model['id']}): captured and exported with its header")
        _run([*RIGHTSWATCH, "capture", str(model["id"]), "--placement"], client)
        out = client / "rightswatch-data" / "evidence" / "bundles" / f"model-{model['id']}.zip"
        _run([*RIGHTSWATCH, "export", str(model["id"]), "--out", str(out)], client)
        print(f"model bundle:        {out}")
    _step("the case folder copied elsewhere still exports and verifies")
    copy = work / "client-copy"
    if copy.exists():
        shutil.rmtree(copy)
    shutil.copytree(client, copy)
    if top_id:
        moved = copy / "rightswatch-data" / "evidence" / "bundles" / "copied.zip"
        _run([*RIGHTSWATCH, "export", top_id, "--out", str(moved)], copy)
        _run([*RIGHTSWATCH, "verify", str(moved)], copy)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.demo", description=__doc__)
    parser.add_argument("--dir", type=Path, default=Path(".demo"), help="working folder")
    parser.add_argument("--items", type=int, default=0, help="sandbox size (default: its own)")
    parser.add_argument("--max-captures", type=int, default=4, help="findings to seal")
    args = parser.parse_args(argv)
    started = time.monotonic()
    # Civitai shows mature content and file headers only to callers with a token; the
    # sandbox accepts any. A real run uses the operator's own CIVITAI_TOKEN.
    os.environ.setdefault("CIVITAI_TOKEN", "sandbox-demo-token")
    work: Path = args.dir.resolve()
    client = work / "client"
    if client.exists():
        shutil.rmtree(client)  # a fresh case file each time; the sandbox cache is kept
    work.mkdir(parents=True, exist_ok=True)

    _step("starting the sandbox platform on 127.0.0.1")
    proc, url = _start_sandbox(work / "sandbox", args.items)
    try:
        print(f"sandbox at {url}")
        _step("writing the demo client: references and watch.toml")
        subprocess.run(
            [sys.executable, "-m", "sandbox", "client", "--url", url, "--out", str(client)],
            check=True,
        )
        _step("operator signing key")
        _run([*RIGHTSWATCH, "keys", "init"], client)
        _step("monitoring run: references, crawl, match, evidence")
        summary = json.loads(
            _run(
                [
                    *RIGHTSWATCH,
                    "run",
                    "--json",
                    "--no-notify",
                    "--max-captures",
                    str(args.max_captures),
                ],
                client,
                capture=True,
            )
        )
        _run([*RIGHTSWATCH, "findings", "list", "--limit", "10"], client)
        top = summary.get("top_finding") or {}
        bundle = str(top.get("bundle") or "").removeprefix("file://")
        _step("summary")
        print(
            f"run {summary['run_id']} {summary['status']} in {summary['seconds']:.0f} s: "
            f"{len(summary['new_findings'])} new findings "
            f"({summary['review_waiting']} wait for review), "
            f"{summary['captures_sealed']} sealed captures, {len(summary['failures'])} failures"
        )
        for key, count in sorted(summary["by_character_platform"].items()):
            print(f"  {key}: {count}")
        findings = json.loads(
            _run([*RIGHTSWATCH, "findings", "list", "--json"], client, capture=True)
        )
        _truth_summary(url, findings)
        print(f"run report:          {summary['report_markdown']}")
        print(f"top finding:         {top.get('finding_id')}")
        print(f"its sealed capture:  {top.get('capture')}")
        print(f"its evidence bundle: {bundle or '(none)'}")
        for report in top.get("reports", []):
            print(f"its court report:    {report}")
        if not bundle:
            raise SystemExit("demo failed: no bundle was exported")
        _step("verifying the bundle as an opposing expert would")
        _run([*RIGHTSWATCH, "verify", bundle], client)
        _after_review(client, work, findings, top)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    print(f"\ndemo finished in {time.monotonic() - started:.0f} s; files under {client}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The demo client: reference images and a watch.toml aimed at a running sandbox.

``python -m sandbox client --url URL --out DIR`` writes::

    DIR/references/<character-slug>/<slug>-NN-<pose>-<background>.png
    DIR/tsa-ca.pem       the sandbox TSA's root certificate (UNTRUSTED, demo only)
    DIR/watch.toml       client, characters with aliases, all three platforms, the test TSA

The references are drawn for the seed the sandbox reports at ``/sandbox/info.json``.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from sandbox.content import CHARACTERS, Character, reference_images
from sandbox.errors import SandboxError


def _fetch(url: str) -> bytes:
    if not url.startswith(("http://", "https://")):
        raise SandboxError(f"{url}: not an http(s) URL")
    try:
        response = httpx.get(url, timeout=30)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        raise SandboxError(f"{url}: cannot reach the sandbox ({exc})") from exc
    return response.content


def _toml_list(values: list[str]) -> str:
    return "[" + ", ".join(json.dumps(v, ensure_ascii=False) for v in values) + "]"


def _aliases(who: Character) -> str:
    groups = {
        "en": list(who.aliases["en"]),
        "zh": [*who.aliases["zh"], *who.aliases["pinyin"]],
        "ja": [*who.aliases["ja"], *who.aliases["hepburn"]],
    }
    return "{ " + ", ".join(f"{k} = {_toml_list(v)}" for k, v in groups.items()) + " }"


def watch_toml(url: str, cdn: str = "") -> str:
    """The watch.toml text for a sandbox at ``url`` whose CDN listener is ``cdn``.

    The CDN listener is a loopback address, not one of the real CDN names the platforms'
    defaults allow, so it is named in ``allowed_hosts`` (as an operator would add a CDN).
    """
    cdn_entry = cdn.removeprefix("http://").removeprefix("https://").rstrip("/")
    lines = [
        f"# Demo client for the rightswatch sandbox at {url}.",
        "# Written by `python -m sandbox client`; the TSA below is UNTRUSTED (demo only).",
        "",
        "[client]",
        'name = "Demo Rights Co. (sandbox)"',
        f'matter = "Sandbox demo: {", ".join(c.name for c in CHARACTERS)}"',
    ]
    for who in CHARACTERS:
        lines += [
            "",
            "[[characters]]",
            f"name = {json.dumps(who.name)}",
            f"aliases = {_aliases(who)}",
            f'references = ["references/{who.slug}"]',
        ]
    for name, base in (("civitai", url), ("huggingface", url), ("gallery", f"{url}/gallery")):
        lines += [
            "",
            "[[platforms]]",
            f'name = "{name}"',
            f'kind = "{name}"',
            f'base_url = "{base}"',
            *([f'allowed_hosts = ["{cdn_entry}"]'] if cdn_entry and name != "gallery" else []),
            "",
            "[platforms.politeness]",
            "concurrency = 4",
            "delay_seconds = 0.0",
        ]
    lines += [
        "",
        "[crawler]",
        'contact = "sandbox demo <demo@example.invalid>"',
        "",
        "[evidence]",
        'folder = "rightswatch-data/evidence"',
        f'tsa_urls = ["{url}/tsa"]',
        'tsa_ca_files = ["tsa-ca.pem"]',
        'signing_key = "rightswatch-data/keys/operator.key"',
        'operator = "Demo Operator (sandbox)"',
    ]
    return "\n".join(lines) + "\n"


def write_client(url: str, out: Path) -> list[Path]:
    """Write references, the TSA root and watch.toml under ``out``; return the files written."""
    url = url.rstrip("/")
    info = json.loads(_fetch(f"{url}/sandbox/info.json"))
    written: list[Path] = []
    for reference in reference_images(int(info["seed"])):
        path = out / "references" / reference.slug / reference.filename
        path.parent.mkdir(parents=True, exist_ok=True)
        reference.image.save(path, "PNG")
        written.append(path)
    ca = out / "tsa-ca.pem"
    ca.write_bytes(_fetch(f"{url}/tsa/ca.pem"))
    config = out / "watch.toml"
    config.write_text(watch_toml(url, str(info.get("cdn") or "")), encoding="utf-8")
    return [*written, ca, config]

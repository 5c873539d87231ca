"""The demo client: reference images and a watch.toml aimed at a running sandbox.

``python -m sandbox client --url URL --out DIR`` writes::

    DIR/references/<character-slug>/<slug>-NN-<pose>-<background>.png
    DIR/tsa-ca.pem       the sandbox TSA's root certificate (UNTRUSTED, demo only)
    DIR/watch.toml       client, characters with aliases, every platform, the test TSA
    DIR/walled-session.json  a Playwright storage_state with the walled gallery's cookies

Civitai, Hugging Face and the three gallery styles; each gallery is described by an adapter
written in watch.toml alone (the crawler has no sandbox special case).

The references are drawn for the seed the sandbox reports at ``/sandbox/info.json``.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

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


SESSION_FILE = "walled-session.json"

GALLERY_SPA = """
[[platforms]]
name = "gallery"
kind = "gallery"
base_url = "{url}/gallery"

[platforms.politeness]
concurrency = 4
delay_seconds = 0.0

[platforms.gallery]  # style (b): a single-page app, POST JSON API, virtualised inner feed
listings = [{{ url = "/", placement = "home" }}, {{ url = "/models", placement = "feed" }}]
links = [
  {{ kind = "model", pattern = "/gallery/models/(?P<id>[0-9]+)$" }},
  {{ kind = "image", pattern = "/gallery/posts/(?P<id>[0-9]+)$" }},
]
item_urls = {{ model = "/models/{{id}}", image = "/posts/{{id}}" }}
scroll_container = "[role=feed]"

[[platforms.gallery.json]]
url = "/api/v1/feed$"
items = {{ model = "data.items[?versions]", image = "data.items[?images]" }}
more = "data.hasMore"

[[platforms.gallery.json]]
url = "/api/v1/recommend$"
items = {{ model = "data.models[]", image = "data.posts[]" }}
placement = "recommended"

[platforms.gallery.fields.model]
id = "id"
title = "name"
creator = "owner.nickname"
image = "cover.url"
tags = "tags[].name"
trigger = "triggerWord|versions[0].triggerWord"
base_model = "baseModel"
files = "versions[].file.downloadUrl"
file_names = "versions[].file.name"
file_sha256 = "versions[].file.sha256"
file_sizes = "versions[].file.size"
created_at = "createdAt"

[platforms.gallery.fields.image]
id = "id"
title = "title"
creator = "owner.nickname"
image = "images[0].url"
prompt = "images[0].generationData.prompt"
negative_prompt = "images[0].generationData.negativePrompt"
resources = "images[0].generationData.models[].label"
created_at = "createdAt"
"""

GALLERY_SSR = """
[[platforms]]
name = "gallery-ssr"
kind = "gallery"
base_url = "{url}/ssr"

[platforms.politeness]
concurrency = 4
delay_seconds = 0.0

[platforms.gallery]  # style (a): server-rendered, __NEXT_DATA__, media on a CDN host
listings = [{{ url = "/", placement = "home" }}, {{ url = "/models", placement = "feed" }}]
links = [
  {{ kind = "model", pattern = "/modelinfo/(?P<id>[0-9a-f]{{32}})" }},
  {{ kind = "image", pattern = "/imageinfo/(?P<id>[0-9a-f]{{32}})" }},
]
item_urls = {{ model = "/modelinfo/{{id}}", image = "/imageinfo/{{id}}" }}
next_link = "a[rel=next]"
media_hosts = ["{cdn}"]

[[platforms.gallery.state]]
name = "__NEXT_DATA__"
items = {{ model = "props.pageProps.list[?versions]", image = "props.pageProps.list[?generate]" }}
more = "props.pageProps.hasMore"

[[platforms.gallery.state]]
name = "__NEXT_DATA__"
items = {{ model = "props.pageProps.recommend[]" }}
placement = "recommended"

[platforms.gallery.fields.model]
id = "uuid"
title = "name"
creator = "user.nickname"
image = "imageUrl"
tags = "tags[].tagName"
trigger = "triggerWord"
base_model = "baseModel"
files = "versions[].attachment.url"
file_names = "versions[].attachment.fileName"
file_sha256 = "versions[].attachment.sha256"
file_sizes = "versions[].attachment.size"
created_at = "createTime"

[platforms.gallery.fields.image]
id = "uuid"
title = "title"
creator = "user.nickname"
image = "imageUrl"
prompt = "generate.prompt"
negative_prompt = "generate.negativePrompt"
resources = "generate.loras[].name"
created_at = "createTime"
"""

GALLERY_WALLED = """
[[platforms]]
name = "gallery-walled"
kind = "gallery"
base_url = "{url}/walled"

[platforms.politeness]
concurrency = 4
delay_seconds = 0.0

[platforms.gallery]  # style (c): challenge interstitial and login dialog; a login session
listings = [{{ url = "/", placement = "feed" }}, {{ url = "/loras", placement = "feed" }}]
links = [
  {{ kind = "image", pattern = "/artworks/(?P<id>[0-9]+)$" }},
  {{ kind = "model", pattern = "/lora/(?P<id>[0-9]+)$" }},
]
item_urls = {{ image = "/artworks/{{id}}", model = "/lora/{{id}}" }}
end_selector = "p.feed-end"
storage_state = "{session}"

[[platforms.gallery.json]]
url = "/ajax/works"
items = {{ image = "body.works[]" }}
last = "body.lastPage"

[[platforms.gallery.json]]
url = "/ajax/loras"
items = {{ model = "body.loras[]" }}
last = "body.lastPage"

[platforms.gallery.fields.image]
id = "id"
title = "title"
creator = "userName"
image = "url"
prompt = "caption"
tags = "tags[]"
created_at = "createDate"

[platforms.gallery.fields.model]
id = "id"
title = "title"
creator = "userName"
image = "cover"
tags = "tags[]"
trigger = "trigger"
files = "file.url"
file_names = "file.name"
file_sha256 = "file.sha256"
created_at = "createDate"
"""


def storage_state(url: str) -> str:
    """A Playwright storage_state holding the walled gallery's clearance and session cookies,
    as a user would export it from a logged-in browser."""
    host = urlsplit(url).hostname or "127.0.0.1"
    cookies = [
        {
            "name": name,
            "value": value,
            "domain": host,
            "path": "/",
            "expires": -1,
            "httpOnly": True,
            "secure": False,
            "sameSite": "Lax",
        }
        for name, value in (
            ("cf_clearance", "sandbox-clearance"),
            ("rw_session", "sandbox-session"),
        )
    ]
    return json.dumps({"cookies": cookies, "origins": []}, indent=2) + "\n"


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
    for name, base in (("civitai", url), ("huggingface", url)):
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
    cdn_host = urlsplit(cdn or url.replace("127.0.0.1", "127.0.0.2")).netloc
    for block in (GALLERY_SPA, GALLERY_SSR, GALLERY_WALLED):
        lines += block.format(url=url, cdn=cdn_host, session=SESSION_FILE).splitlines()
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
    session = out / SESSION_FILE
    session.write_text(storage_state(url), encoding="utf-8")
    config = out / "watch.toml"
    config.write_text(watch_toml(url, str(info.get("cdn") or "")), encoding="utf-8")
    return [*written, ca, session, config]

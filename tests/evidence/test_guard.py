"""The one fetch guard: schemes, host entries and patterns, ports, addresses after DNS."""

from __future__ import annotations

import pytest

from evidence.exceptions import FetchRefused
from evidence.guard import FetchPolicy, HostEntry, is_local_address, is_network_url

CIVITAI = FetchPolicy.for_platform(
    "https://civitai.com",
    ["image.civitai.com", "*.r2.cloudflarestorage.com", "b2.civitai.com"],
    setting="platforms.civitai.allowed_hosts",
)
HF = FetchPolicy.for_platform(
    "https://huggingface.co", ["*.hf.co", "cdn-lfs*.huggingface.co", "cas-bridge.xethub.hf.co"]
)
SANDBOX = FetchPolicy.for_platform("http://127.0.0.1:8000", ["127.0.0.2:8001"])


def _dns(table: dict[str, tuple[str, ...]]):  # type: ignore[no-untyped-def]
    def resolve(host: str, port: int) -> tuple[str, ...]:
        return table.get(host, ("93.184.216.34",))

    return resolve


@pytest.mark.parametrize(
    "url",
    [
        "https://civitai.com/api/v1/models?types=LORA",
        "https://image.civitai.com/xG1n/abc/width=450/1.jpeg",
        "https://civitai-delivery-worker-prod.acct.r2.cloudflarestorage.com/m/1?X-Amz=1",
        "https://b2.civitai.com/file/x.safetensors",
        "https://civitai.com:443/models/1",
    ],
)
def test_civitai_and_its_cdns_pass(url: str) -> None:
    CIVITAI.check_resolved(url, _dns({}))


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("file:///etc/passwd", "scheme 'file'"),
        ("ftp://civitai.com/x", "scheme 'ftp'"),
        ("data:text/plain,hi", "scheme 'data'"),
        ("s3://bucket/key", "scheme 's3'"),
        ("https://evil.example/x", "platforms.civitai.allowed_hosts"),
        ("https://r2.cloudflarestorage.com/x", "not allowed"),  # the pattern needs a label
        ("https://civitai.com.evil.example/x", "not allowed"),
        ("https://civitai.com:8443/api", "port 8443"),
        ("http://127.0.0.1:8000/admin", "not allowed"),
        ("https://user:pw@civitai.com/", "credentials"),
        ("https://civitai.com:99999/", "malformed"),
    ],
)
def test_civitai_refusals_name_the_reason(url: str, reason: str) -> None:
    with pytest.raises(FetchRefused, match=reason) as info:
        CIVITAI.check_url(url)
    assert info.value.url == url


def test_patterns_match_whole_labels() -> None:
    for host in ("us.aws.cdn.hf.co", "cdn-lfs-us-1.huggingface.co", "cdn-lfs.huggingface.co"):
        HF.check_url(f"https://{host}/xet-bridge-us/abc")
    for host in ("hf.co", "evilhf.co", "cdn-lfs.x.huggingface.co", "huggingface.co.evil.io"):
        with pytest.raises(FetchRefused):
            HF.check_url(f"https://{host}/x")


def test_dns_rebinding_is_refused_for_public_names() -> None:
    dns = _dns({"image.civitai.com": ("127.0.0.1",), "b2.civitai.com": ("::ffff:10.0.0.7",)})
    for url in ("https://image.civitai.com/a.jpeg", "https://b2.civitai.com/f"):
        with pytest.raises(FetchRefused, match="resolved to"):
            CIVITAI.check_resolved(url, dns)
    mixed = _dns({"image.civitai.com": ("93.184.216.34", "169.254.169.254")})
    with pytest.raises(FetchRefused, match=r"169\.254\.169\.254"):
        CIVITAI.check_resolved("https://image.civitai.com/a.jpeg", mixed)


def test_unresolvable_host_is_a_refusal() -> None:
    def fail(host: str, port: int) -> tuple[str, ...]:
        raise OSError("Name or service not known")

    with pytest.raises(FetchRefused, match="cannot resolve"):
        CIVITAI.check_resolved("https://image.civitai.com/a.jpeg", fail)


def test_the_sandbox_names_its_local_hosts_with_ports() -> None:
    for url in ("http://127.0.0.1:8000/api/v1/models", "http://127.0.0.2:8001/cdn/1"):
        assert SANDBOX.check_resolved(url) == (url.split("/")[2].split(":")[0],)
    for url in ("http://127.0.0.1:8001/", "http://127.0.0.2:8000/", "http://127.0.0.3:8000/"):
        with pytest.raises(FetchRefused):
            SANDBOX.check_url(url)
    # A pattern never makes an address local, even when it matches a local name.
    loose = FetchPolicy.for_platform("https://gallery.example", ["*.localhost"])
    with pytest.raises(FetchRefused, match="private"):
        loose.check_url("https://admin.localhost/")


def test_a_manual_capture_reaches_any_public_address_only() -> None:
    policy = FetchPolicy.public()
    policy.check_resolved("https://example.org:8443/page", _dns({}))
    for url in (
        "http://127.0.0.1:9000/admin",
        "http://[::1]/",
        "http://localhost/",
        "http://169.254.169.254/latest/meta-data/",
        "file:///etc/passwd",
    ):
        with pytest.raises(FetchRefused):
            policy.check_resolved(url, _dns({}))
    with pytest.raises(FetchRefused, match=r"resolved to 10\.1\.1\.1"):
        policy.check_resolved(
            "https://intranet.example/", _dns({"intranet.example": ("10.1.1.1",)})
        )


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("Image.Civitai.com", HostEntry("image.civitai.com")),
        ("127.0.0.2:8001", HostEntry("127.0.0.2", 8001)),
        ("[::1]:8000", HostEntry("::1", 8000)),
        ("*.hf.co", HostEntry("*.hf.co")),
    ],
)
def test_entries_parse(text: str, parsed: HostEntry) -> None:
    assert HostEntry.parse(text) == parsed
    assert HostEntry.parse(str(parsed)) == parsed


@pytest.mark.parametrize("text", ["", "*", "*.", "http://x", "host:port", "a b", "h:70000"])
def test_bad_entries_are_value_errors(text: str) -> None:
    with pytest.raises(ValueError, match="host entry"):
        HostEntry.parse(text)


def test_address_classes() -> None:
    for local in (
        "127.0.0.1",
        "10.0.0.1",
        "192.168.1.1",
        "100.64.0.1",
        "fe80::1",
        "::1",
        "0.0.0.0",
        "::",
        "224.0.0.1",
    ):
        assert is_local_address(local), local
    for public in ("93.184.216.34", "2606:4700::1111", "civitai.com"):
        assert not is_local_address(public), public
    assert not is_network_url("data:image/png;base64,AAAA")
    assert not is_network_url("blob:https://civitai.com/1")
    assert is_network_url("https://civitai.com/")

"""The guard: bind rule, sign-in, CSRF, host check, headers and file confinement."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from starlette.testclient import TestClient

from evidence.models import CustodyEvent, Finding, FindingStatus
from rightswatch.cli import cli
from rightswatch.review.app import create_app
from rightswatch.review.errors import PathRefused, UnsafeBind
from rightswatch.review.security import SessionCodec, check_bind, confine, is_loopback
from rightswatch.review.settings import ReviewSettings
from tests.rightswatch.review.helpers import csrf_of
from tests.support.casefile import Sample


def test_loopback_detection() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert is_loopback("127.8.9.10")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")
    assert not is_loopback("example.com")


def test_non_loopback_bind_needs_a_token() -> None:
    check_bind("127.0.0.1", None)
    check_bind("0.0.0.0", "s3cret")
    with pytest.raises(UnsafeBind, match="needs a token"):
        check_bind("0.0.0.0", None)


def test_command_refuses_open_bind_without_token(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "RIGHTSWATCH_REVIEW_TOKEN"}
    result = CliRunner(env=env).invoke(
        cli, ["review", "--host", "0.0.0.0", "--database", f"sqlite:///{tmp_path / 'x.db'}"]
    )
    assert isinstance(result.exception, UnsafeBind)
    assert "RIGHTSWATCH_REVIEW_TOKEN" in str(result.exception)
    assert not (tmp_path / "x.db").exists()  # refused before touching anything


def test_post_without_csrf_token_is_refused(
    client: TestClient, fed: Sample, settings: ReviewSettings
) -> None:
    fid = fed.findings[2]
    client.get("/")  # the session cookie exists; only the token is missing
    missing = client.post(f"/findings/{fid}/confirm", data={"note": "x"})
    assert missing.status_code == 403
    wrong = client.post(f"/findings/{fid}/confirm", data={"csrf_token": "guess"})
    assert wrong.status_code == 403
    with settings.store.session() as session:
        row = session.get(Finding, fid)
        assert row is not None and row.status is FindingStatus.NEW
        assert not session.scalars(select(CustodyEvent)).all()


def test_csrf_token_accepted_in_header(client: TestClient, fed: Sample) -> None:
    token = csrf_of(client.get("/").text)
    done = client.post(f"/findings/{fed.findings[3]}/confirm", headers={"X-CSRF-Token": token})
    assert done.status_code == 200


def test_token_from_another_session_is_refused(settings: ReviewSettings, fed: Sample) -> None:
    app = create_app(settings)
    with (
        TestClient(app, base_url="http://127.0.0.1") as a,
        TestClient(app, base_url="http://127.0.0.1") as b,
    ):
        token_a = csrf_of(a.get("/").text)
        b.get("/")
        assert (
            b.post(f"/findings/{fed.findings[4]}/confirm", data={"csrf_token": token_a}).status_code
            == 403
        )


def test_cross_origin_post_is_refused(client: TestClient, fed: Sample) -> None:
    token = csrf_of(client.get("/").text)
    hostile = client.post(
        f"/findings/{fed.findings[5]}/confirm",
        data={"csrf_token": token},
        headers={"Origin": "http://evil.example"},
    )
    assert hostile.status_code == 403


def test_forged_or_expired_cookie_is_ignored() -> None:
    codec = SessionCodec(b"key")
    value = codec.dumps({"csrf": "t", "reviewer": "A"})
    assert codec.loads(value) == {"csrf": "t", "reviewer": "A", "iat": codec.loads(value)["iat"]}  # type: ignore[index]
    assert SessionCodec(b"other").loads(value) is None
    payload, mac = value.split(".")
    assert codec.loads(payload[:-2] + "xx." + mac) is None
    assert codec.loads("garbage") is None
    assert SessionCodec(b"key", max_age=-1).loads(value) is None


def test_unknown_host_header_is_refused(client: TestClient) -> None:
    assert client.get("/", headers={"Host": "rebound.example"}).status_code == 400


def test_security_headers(client: TestClient) -> None:
    page = client.get("/")
    assert "script-src 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["referrer-policy"] == "same-origin"
    cookie = page.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie


def test_token_sign_in(settings: ReviewSettings, fed: Sample) -> None:
    guarded = dataclasses.replace(
        settings, token="open-sesame-0123456789-abcdefghijklmnop", reviewer=None
    )
    with TestClient(create_app(guarded), base_url="http://127.0.0.1") as tc:
        first = tc.get(f"/findings/{fed.findings[0]}", follow_redirects=False)
        assert first.status_code == 303 and first.headers["location"].startswith("/login?next=")
        form = tc.get("/login")
        token = csrf_of(form.text)
        bad = tc.post("/login", data={"csrf_token": token, "reviewer": "Mallory", "token": "nope"})
        assert bad.status_code == 403
        assert tc.get("/", follow_redirects=False).status_code == 303
        assert (
            tc.post(f"/findings/{fed.findings[0]}/confirm", data={"csrf_token": token}).status_code
            == 403
        )
        ok = tc.post(
            "/login",
            data={
                "csrf_token": token,
                "reviewer": "Ada Reviewer",
                "token": "open-sesame-0123456789-abcdefghijklmnop",
                "next": f"/findings/{fed.findings[0]}",
            },
        )
        assert ok.status_code == 200 and "Ada Reviewer" in ok.text
        # the CSRF token was rotated at sign-in
        new_token = csrf_of(ok.text)
        assert new_token != token
        tc.post(f"/findings/{fed.findings[0]}/confirm", data={"csrf_token": new_token})
    with settings.store.session() as session:
        event = session.scalars(select(CustodyEvent)).one()
        assert event.actor == "Ada Reviewer"


def test_sign_in_next_cannot_leave_the_site(settings: ReviewSettings, fed: Sample) -> None:
    anon = dataclasses.replace(settings, reviewer=None)
    with TestClient(create_app(anon), base_url="http://127.0.0.1") as tc:
        token = csrf_of(tc.get("/login").text)
        out = tc.post(
            "/login",
            data={"csrf_token": token, "reviewer": "Bo", "next": "//evil.example/x"},
            follow_redirects=False,
        )
        assert out.headers["location"] == "/"


def test_confine_refuses_escapes(tmp_path: Path) -> None:
    root = tmp_path / "evidence"
    (root / "cap").mkdir(parents=True)
    (root / "cap" / "a.png").write_bytes(b"x")
    (tmp_path / "secret.txt").write_text("s")
    (root / "link").symlink_to(tmp_path / "secret.txt")
    assert confine(root, "cap/a.png") == (root / "cap" / "a.png").resolve()
    for bad in (
        "../secret.txt",
        "cap/../../secret.txt",
        "/etc/passwd",
        "cap/./a.png",
        "link",
        "cap\\a.png",
        "cap/a.png\x00",
        "cap",
    ):
        with pytest.raises(PathRefused):
            confine(root, bad)


def test_download_route_refuses_traversal(client: TestClient, settings: ReviewSettings) -> None:
    secret = settings.evidence_root.parent / "outside.txt"
    secret.write_text("not evidence")
    for path in ("/files/%2e%2e/outside.txt", "/files/..%2foutside.txt", "/files/%2fetc%2fpasswd"):
        refused = client.get(path)
        assert refused.status_code == 404, path
        assert "refused" in refused.text
        assert "not evidence" not in refused.text


def test_download_route_serves_evidence_files(client: TestClient, settings: ReviewSettings) -> None:
    bundle = settings.evidence_root / "exports" / "case.zip"
    bundle.parent.mkdir(parents=True)
    bundle.write_bytes(b"PK\x05\x06" + b"\x00" * 18)
    got = client.get("/files/exports/case.zip")
    assert got.status_code == 200 and got.content == bundle.read_bytes()
    assert got.headers["content-disposition"].startswith("attachment")

"""Review app hardening: images only from stored copies, platform text isolated against bidi
controls, token rules (length, source), login back-off, server-side sessions revoked at sign
out, and Secure cookies behind TLS."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from evidence.models import Candidate, Finding
from rightswatch.cli import cli
from rightswatch.review.app import create_app
from rightswatch.review.settings import (
    LoginThrottle,
    ReviewSettings,
    SessionTable,
    TokenError,
    load_token,
)
from tests.rightswatch.review.helpers import csrf_of
from tests.support.casefile import Sample

TOKEN = "review-token-0123456789-abcdefghijklmnop"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_images_come_only_from_the_dashboard(client: TestClient, fed: Sample) -> None:
    page = client.get("/")
    csp = page.headers["content-security-policy"]
    assert "img-src 'self' data:;" in csp and "http:" not in csp and "https:" not in csp
    with client.app.state.settings.store.session() as s:  # type: ignore[attr-defined]
        for candidate in s.query(Candidate):
            candidate.media_url = "http://127.0.0.1:9/tracker.png"
    for url in ("/", f"/findings/{fed.findings[0]}"):
        assert '127.0.0.1:9/tracker.png"' not in client.get(url).text.replace("href=", "")
        assert 'src="http' not in client.get(url).text


def test_platform_text_is_isolated_from_bidi_controls(client: TestClient, fed: Sample) -> None:
    title = "Hero \u202egnp.exe"  # RIGHT-TO-LEFT OVERRIDE, never closed
    creator = "\u2067evil\u2069 creator"
    with client.app.state.settings.store.session() as s:  # type: ignore[attr-defined]
        finding = s.get(Finding, fed.top_finding)  # first in the queue
        assert finding is not None
        candidate = s.get(Candidate, finding.candidate_id)
        assert candidate is not None
        candidate.title, candidate.creator = title, creator
    page = client.get(f"/findings/{fed.top_finding}").text
    assert f'<bdi id="title">{title}</bdi>' in page
    assert f'<bdi id="creator">{creator}</bdi>' in page
    queue = client.get("/").text
    assert f"<bdi>{title}</bdi>" in queue and f"<bdi>{creator}</bdi>" in queue


def test_tokens_are_long_and_never_on_the_command_line(tmp_path: Path) -> None:
    with pytest.raises(TokenError, match="at least 32"):
        load_token(environ={"RIGHTSWATCH_REVIEW_TOKEN": "short"})
    assert load_token(environ={"RIGHTSWATCH_REVIEW_TOKEN": TOKEN}) == TOKEN
    assert load_token(environ={}) is None
    path = tmp_path / "token"
    path.write_text(TOKEN + "\n", encoding="utf-8")
    path.chmod(0o644)
    with pytest.raises(TokenError, match="owner only"):
        load_token(path, environ={})
    path.chmod(0o600)
    assert load_token(path, environ={}) == TOKEN
    result = CliRunner().invoke(cli, ["review", "--token", TOKEN])
    assert result.exit_code == 2 and "No such option '--token'" in result.output


def test_short_tokens_are_refused_by_the_settings(settings: ReviewSettings) -> None:
    with pytest.raises(TokenError):
        dataclasses.replace(settings, token="open-sesame")


def test_failed_sign_ins_back_off(settings: ReviewSettings, fed: Sample) -> None:
    clock = Clock()
    guarded = dataclasses.replace(
        settings, token=TOKEN, reviewer=None, throttle=LoginThrottle(free=3, clock=clock)
    )
    with TestClient(create_app(guarded), base_url="http://127.0.0.1") as tc:
        csrf = csrf_of(tc.get("/login").text)
        wrong = {"csrf_token": csrf, "reviewer": "Mallory", "token": "x" * 40}
        assert [tc.post("/login", data=wrong).status_code for _ in range(3)] == [403] * 3
        refused = tc.post("/login", data={**wrong, "token": TOKEN})  # even the right one waits
        assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
        clock.now += 1
        assert tc.post("/login", data=wrong).status_code == 403
        again = tc.post("/login", data=wrong)
        assert again.status_code == 429 and again.headers["retry-after"] == "2"  # doubled
        clock.now += 2
        ok = tc.post("/login", data={**wrong, "token": TOKEN, "reviewer": "Ada"})
        assert ok.status_code == 200 and "Ada" in ok.text


def test_sign_out_revokes_the_session_on_the_server(settings: ReviewSettings, fed: Sample) -> None:
    guarded = dataclasses.replace(settings, token=TOKEN, reviewer=None)
    with TestClient(create_app(guarded), base_url="http://127.0.0.1") as tc:
        csrf = csrf_of(tc.get("/login").text)
        signed_in = tc.post("/login", data={"csrf_token": csrf, "reviewer": "Ada", "token": TOKEN})
        assert signed_in.status_code == 200
        stolen = tc.cookies.get("rw_session")
        assert stolen and tc.get("/", follow_redirects=False).status_code == 200
        out = tc.post("/logout", data={"csrf_token": csrf_of(signed_in.text)})
        assert out.status_code in (200, 303)
    with TestClient(create_app(guarded), base_url="http://127.0.0.1") as thief:
        thief.cookies.set("rw_session", stolen)
        page = thief.get("/", follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"].startswith("/login")


def test_sessions_lapse_and_are_bounded() -> None:
    clock = Clock()
    table = SessionTable(max_age=10, limit=3, clock=clock)
    first = table.issue()
    assert table.live(first)
    clock.now += 11
    assert not table.live(first)
    ids = [table.issue() for _ in range(5)]
    assert not table.live(ids[0]) and table.live(ids[-1])
    assert not table.live(None) and not table.live(42)


def test_cookies_are_secure_behind_tls(settings: ReviewSettings, fed: Sample) -> None:
    with TestClient(create_app(settings), base_url="https://127.0.0.1") as tc:
        assert "; Secure" in tc.get("/").headers["set-cookie"]
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as tc:
        assert "Secure" not in tc.get("/").headers["set-cookie"]
    forced = dataclasses.replace(settings, secure_cookies=True)
    with TestClient(create_app(forced), base_url="http://127.0.0.1") as tc:
        assert "; Secure" in tc.get("/").headers["set-cookie"]

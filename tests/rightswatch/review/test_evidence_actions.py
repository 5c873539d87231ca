"""Capture, export and notice are handed to the evidence package as the reviewer.

The evidence operations are replaced by recording doubles here (to check what the dashboard
hands over); the browser suite runs the real ones end to end.
"""

from __future__ import annotations

import dataclasses
import zipfile
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from evidence.exceptions import EvidenceError
from rightswatch.config import load_config
from rightswatch.review import evidence_api
from rightswatch.review.app import create_app
from rightswatch.review.settings import ReviewSettings
from tests.rightswatch.review.helpers import csrf_of
from tests.support.casefile import Sample


@dataclasses.dataclass(frozen=True)
class FakeSettings:
    operator: str = "configured operator"
    folder: Path = Path("elsewhere")


@dataclasses.dataclass(frozen=True)
class FakeCapture:
    capture_id: str = "20261201T000000Z-abcd"
    sealed: bool = True
    message: str = ""

    @property
    def outcome(self) -> Any:
        return evidence_api.VerifyState.VERIFIED  # any enum with .value


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, tuple[Any, ...]]]:
    seen: list[tuple[str, tuple[Any, ...]]] = []

    def export_bundle(store: Any, ids: list[int], destination: str, settings: Any) -> None:
        seen.append(("export", (ids, settings.operator)))
        assert Path(destination).parent == settings.folder / "exports"
        out = Path(destination)
        out.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(out, "w") as zf:
            zf.writestr("VERIFY.md", "check me")

    def draft_notice(store: Any, finding_id: int, template: str, settings: Any) -> Any:
        seen.append(("notice", (finding_id, template, settings.operator)))
        raise EvidenceError(f"finding {finding_id} has no sealed capture")

    def capture_finding(store: Any, finding_id: int, settings: Any) -> FakeCapture:
        seen.append(("capture", (finding_id, settings.operator)))
        return FakeCapture()

    monkeypatch.setattr(evidence_api, "evidence_settings", lambda config: FakeSettings())
    monkeypatch.setattr(evidence_api, "export_bundle", export_bundle)
    monkeypatch.setattr(evidence_api, "draft_notice", draft_notice)
    monkeypatch.setattr(evidence_api, "capture_finding", capture_finding)
    return seen


@pytest.fixture
def configured(settings: ReviewSettings, watch_toml: Path, fed: Sample) -> TestClient:
    full = dataclasses.replace(settings, config=load_config(watch_toml))
    return TestClient(create_app(full), base_url="http://127.0.0.1")


def test_export_downloads_the_zip_as_the_reviewer(
    configured: TestClient, fed: Sample, calls: list[Any], settings: ReviewSettings
) -> None:
    with configured as tc:
        token = csrf_of(tc.get(f"/findings/{fed.top_finding}").text)
        got = tc.post(f"/findings/{fed.top_finding}/export", data={"csrf_token": token})
    assert got.status_code == 200
    assert got.headers["content-disposition"].startswith("attachment")
    assert zipfile.ZipFile(__import__("io").BytesIO(got.content)).read("VERIFY.md") == b"check me"
    assert calls == [("export", ([fed.top_finding], "Test Reviewer"))]
    assert list((settings.evidence_root / "exports").glob("finding-*.zip"))


def test_capture_now_reports_the_outcome(
    configured: TestClient, fed: Sample, calls: list[Any]
) -> None:
    with configured as tc:
        token = csrf_of(tc.get(f"/findings/{fed.top_finding}").text)
        got = tc.post(f"/findings/{fed.top_finding}/capture", data={"csrf_token": token})
    assert "Capture 20261201T000000Z-abcd sealed" in got.text
    assert calls == [("capture", (fed.top_finding, "Test Reviewer"))]


def test_notice_needs_confirmation_and_shows_evidence_errors(
    configured: TestClient, fed: Sample, calls: list[Any]
) -> None:
    fid = fed.top_finding
    with configured as tc:
        page = tc.get(f"/findings/{fid}").text
        assert 'id="notice-form"' not in page
        token = csrf_of(page)
        confirmed = tc.post(f"/findings/{fid}/confirm", data={"csrf_token": token}).text
        assert 'id="notice-form"' in confirmed
        bad = tc.post(f"/findings/{fid}/notice", data={"csrf_token": token, "template": "threat"})
        assert bad.status_code == 400
        refused = tc.post(f"/findings/{fid}/notice", data={"csrf_token": token, "template": "dmca"})
    assert refused.status_code == 409
    assert "has no sealed capture" in refused.text
    assert calls == [("notice", (fid, "dmca", "Test Reviewer"))]


def test_without_config_evidence_actions_say_so(client: TestClient, fed: Sample) -> None:
    token = csrf_of(client.get(f"/findings/{fed.top_finding}").text)
    got = client.post(f"/findings/{fed.top_finding}/export", data={"csrf_token": token})
    assert got.status_code == 503
    assert "--config" in got.text

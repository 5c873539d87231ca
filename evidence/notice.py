"""Takedown notices drafted from a confirmed finding and its sealed evidence.

Templates: ``civil-code-1195`` (PRC Civil Code Art. 1195 notice to a network service provider)
and ``dmca`` (17 U.S.C. §512(c)(3)). A notice is only drafted for a finding a person has
confirmed; it is written to the evidence folder, recorded as a Notice row and a ``noticed``
custody event, and its date starts the clock for rechecks. Wording: "resembles", never
"infringes" — the rights holder's representative completes the legal statements.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined

from evidence.exceptions import NotFound, NoticeError
from evidence.facts import finding_facts
from evidence.lifecycle import NOTICEABLE, Cause, change_status
from evidence.models import Finding, FindingStatus, Notice, NoticeTemplate
from evidence.paths import stored_path
from evidence.settings import EvidenceSettings
from evidence.signing import Signer
from evidence.store import Store


@dataclass(frozen=True)
class NoticeResult:
    notice_id: int
    finding_id: int
    template: NoticeTemplate
    path: Path
    sha256: str
    text: str


def _render(
    template: NoticeTemplate, facts: dict[str, object], operator: str, key_fingerprint: str
) -> str:
    env = Environment(
        loader=PackageLoader("evidence.report", "templates"),
        autoescape=False,  # noqa: S701 - plain-text notice, never served as HTML
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    now = datetime.now(UTC)
    return env.get_template(f"notice-{template.value}.txt.j2").render(
        facts=facts,
        operator=operator,
        date=now.strftime("%Y-%m-%d"),
        now=now.isoformat(),
        key_fingerprint=key_fingerprint,
    )


def draft_notice(
    store: Store,
    finding_id: int,
    template: NoticeTemplate | str,
    settings: EvidenceSettings,
    *,
    recipient: str | None = None,
) -> NoticeResult:
    """Draft, store and record a notice; refuses unconfirmed findings and unsealed evidence."""
    kind = NoticeTemplate(template)
    with store.session() as session:
        finding = session.get(Finding, finding_id)
        if finding is None:
            raise NotFound("finding", finding_id)
        if finding.status not in NOTICEABLE:
            raise NoticeError(
                f"finding {finding_id} is {finding.status.value}: a person must confirm it "
                "(status confirmed) before a notice is drafted"
            )
        facts = finding_facts(session, finding_id)
        sealed = [c for c in facts["captures"] if c["status"] == "sealed"]
        if not sealed:
            raise NoticeError(
                f"finding {finding_id} has no sealed capture: capture evidence before noticing"
            )
        facts["sealed_captures"] = sealed
        key = Signer.from_file(settings.signing_key).fingerprint
        text = _render(kind, facts, settings.operator, key)
        data = text.encode("utf-8")
        digest = hashlib.sha256(data).hexdigest()
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        path = settings.notices_dir / f"finding-{finding_id}-{kind.value}-{stamp}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.part")
        tmp.write_bytes(data)
        tmp.replace(path)
        notice = Notice(
            finding_id=finding_id,
            template=kind,
            recipient=recipient,
            path=stored_path(path, settings.folder),
            sha256=digest,
        )
        session.add(notice)
        session.flush()
        change_status(
            session,
            finding_id,
            FindingStatus.NOTICED,
            cause=Cause.NOTICE,
            actor=settings.operator,
            reason=f"{kind.value} notice drafted",
            details={
                "notice": notice.id,
                "template": kind.value,
                "sha256": digest,
                "file": path.name,
                "recipient": recipient,
            },
        )
        return NoticeResult(notice.id, finding_id, kind, path, digest, text)

"""Downloads: files below the evidence folder, and reference images by id."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response

from evidence.models import ReferenceImage
from rightswatch.review.errors import PathRefused
from rightswatch.review.pages.common import error_page, in_session, settings_of
from rightswatch.review.security import confine

INLINE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp", ".gif"})


def send_file(path: Path, *, download: bool) -> FileResponse:
    inline = path.suffix.lower() in INLINE_SUFFIXES and not download
    return FileResponse(
        path,
        filename=path.name,
        content_disposition_type="inline" if inline else "attachment",
    )


async def evidence_file(request: Request) -> Response:
    """A file below the evidence folder; anything else is refused (404)."""
    requested = request.path_params["path"]
    try:
        target = confine(settings_of(request).evidence_folder, requested)
    except PathRefused as exc:
        return error_page(request, exc.status_code, str(exc))
    return send_file(target, download="download" in request.query_params)


async def reference_image(request: Request) -> Response:
    """A reference image, found by its id in the case file (never by a path from the request)."""
    ref_id = request.path_params["ref_id"]
    path = await in_session(
        request, lambda s: (lambda r: Path(r.path) if r else None)(s.get(ReferenceImage, ref_id))
    )
    if path is None or not path.is_file() or path.suffix.lower() not in INLINE_SUFFIXES:
        return error_page(request, 404, f"no reference image {ref_id}")
    return send_file(path, download=False)

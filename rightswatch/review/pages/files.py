"""Downloads: files below the evidence folder, and reference images by id."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response

from evidence.queries.review import reference_image_path
from rightswatch.review.errors import PathRefused
from rightswatch.review.pages.common import error_page, in_session, settings_of
from rightswatch.review.security import confine

INLINE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp", ".gif"})
# the crawler stores media under its SHA-256, without a suffix: recognise images by their bytes
IMAGE_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def image_type(path: Path) -> str | None:
    """The image media type of ``path`` (by suffix, else by magic bytes), or None."""
    suffix = path.suffix.lower()
    if suffix in INLINE_SUFFIXES:
        return "image/jpeg" if suffix in (".jpg", ".jpeg") else f"image/{suffix[1:]}"
    with path.open("rb") as fh:
        head = fh.read(16)
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return next((kind for magic, kind in IMAGE_MAGIC if head.startswith(magic)), None)


def send_file(path: Path, *, download: bool) -> FileResponse:
    """Images inline (unless asked to download); everything else only as an attachment, so
    no captured page or document is ever rendered on the dashboard's origin."""
    kind = image_type(path)
    inline = kind is not None and not download
    return FileResponse(
        path,
        media_type=kind if inline else None,
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
    path = await in_session(request, lambda store: reference_image_path(store, ref_id))
    if path is None or not path.is_file() or image_type(path) is None:
        return error_page(request, 404, f"no reference image {ref_id}")
    return send_file(path, download=False)

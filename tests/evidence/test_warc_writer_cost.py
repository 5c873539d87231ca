"""The WARC writer's cheaper path keeps the archive exact: one gzip member per record, SHA-256
block and payload digests that a strict reader verifies, media stored without a second
deflate."""

from __future__ import annotations

import hashlib
import io
import zlib
from base64 import b32encode
from datetime import UTC, datetime

from warcio.archiveiterator import ArchiveIterator

from evidence.capture.network import Exchange
from evidence.capture.warc import GZIP_LEVEL, WarcWriter


def _exchange(body: bytes, content_type: str) -> Exchange:
    return Exchange(
        url="https://x/a",
        method="GET",
        request_headers=(("Accept", "*/*"),),
        post_data=b"",
        status=200,
        status_text="OK",
        http_version="HTTP/1.1",
        response_headers=(("Content-Type", content_type),),
        body=body,
        body_error="",
        server_ip="1.2.3.4",
        server_port=None,
        security=None,
        at=datetime.now(UTC),
        resource_type="scrapy",
        decoded=False,
    )


def _members(data: bytes) -> list[bytes]:
    members = []
    while data:
        inflater = zlib.decompressobj(wbits=31)
        members.append(inflater.decompress(data) + inflater.flush())
        data = inflater.unused_data
    return members


def test_records_are_members_with_digests_a_strict_reader_verifies() -> None:
    json_body = b'{"items": [' + b",".join(b'{"id": %d}' % n for n in range(200)) + b"]}"
    jpeg_body = bytes(range(256)) * 64
    out = io.BytesIO()
    warc = WarcWriter(out, "x.warc.gz", {"software": "test"})
    warc.exchange(_exchange(json_body, "application/json"))
    warc.exchange(_exchange(jpeg_body, "image/jpeg"))
    data = out.getvalue()

    assert len(_members(data)) == warc.records == 5  # warcinfo + two request/response pairs
    bodies = {}
    for record in ArchiveIterator(io.BytesIO(data), check_digests="raise"):
        if record.rec_type == "response":
            body = record.content_stream().read()
            digest = "sha256:" + b32encode(hashlib.sha256(body).digest()).decode()
            assert record.rec_headers.get_header("WARC-Payload-Digest") == digest
            assert record.rec_headers.get_header("WARC-Block-Digest", "").startswith("sha256:")
            bodies[record.http_headers.get_header("Content-Type")] = body
    assert bodies == {"application/json": json_body, "image/jpeg": jpeg_body}


def test_media_is_stored_and_text_compressed() -> None:
    body = bytes(range(256)) * 256  # compressible, so the level shows in the size
    sizes = {}
    for content_type in ("image/jpeg", "application/json"):
        out = io.BytesIO()
        warc = WarcWriter(out, "x.warc.gz", {"software": "test"})
        start = out.tell()
        warc.exchange(_exchange(body, content_type))
        sizes[content_type] = out.tell() - start
    assert GZIP_LEVEL > 0
    assert sizes["image/jpeg"] > len(body)  # stored as is: deflating JPEG bytes saves ~nothing
    assert sizes["application/json"] < len(body) // 10

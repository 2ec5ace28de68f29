"""HTTP routes through which a guest's browser uploads the recording it makes.

    PUT  /upload/<id>?offset=N     a piece of the file at byte offset N; 200 {"size": held}
    GET  /upload/<id>              {"size": held, "state": ...}: where to resume
    POST /upload/<id>/finish       {"size": total, ...}: the recorder stopped; finalize

Every request carries the recording's own key as `Authorization: Bearer <key>`; the shared
guest token is not enough. Refusals are 4xx (507 for a full disk) with
{"error": reason, "size": held} so the page knows where the studio stands.
"""

from __future__ import annotations

import json
import logging

from aiohttp import web

from .guest_upload import MAX_PIECE_BYTES, GuestUpload, UploadRefused
from .guest_uploads import GuestUploads

log = logging.getLogger(__name__)

UPLOADS_KEY: web.AppKey[GuestUploads] = web.AppKey("guestrec_uploads", GuestUploads)
MAX_FINISH_BYTES = 4096
_NO_CACHE = {"Cache-Control": "no-store"}


def _refusal(exc: UploadRefused) -> web.Response:
    body = {"error": exc.reason, "size": exc.size}
    return web.json_response(body, status=exc.status, headers=_NO_CACHE)


def _key(request: web.Request) -> str | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _upload(request: web.Request) -> GuestUpload:
    return request.app[UPLOADS_KEY].authorized(request.match_info["upload_id"], _key(request))


async def _read_body(request: web.Request, limit: int) -> bytes:
    if request.content_length is not None and request.content_length > limit:
        raise UploadRefused(413, f"a piece may be at most {limit} bytes")
    body = bytearray()
    async for chunk in request.content.iter_chunked(64 * 1024):
        body += chunk
        if len(body) > limit:
            raise UploadRefused(413, f"a piece may be at most {limit} bytes")
    return bytes(body)


async def put_piece(request: web.Request) -> web.Response:
    try:
        upload = _upload(request)
        try:
            offset = int(request.query.get("offset", ""))
        except ValueError:
            raise UploadRefused(400, "offset=N (a byte offset) is required", upload.size) from None
        data = await _read_body(request, MAX_PIECE_BYTES)
        size = await upload.append(offset, data)
    except UploadRefused as exc:
        if exc.status == 413:
            response = _refusal(exc)
            response.force_close()  # the unread rest of the body is not wanted here
            return response
        return _refusal(exc)
    return web.json_response({"size": size}, headers=_NO_CACHE)


async def get_state(request: web.Request) -> web.Response:
    try:
        upload = _upload(request)
    except UploadRefused as exc:
        return _refusal(exc)
    return web.json_response({"size": upload.size, "state": upload.state}, headers=_NO_CACHE)


async def post_finish(request: web.Request) -> web.Response:
    try:
        upload = _upload(request)
        try:
            report = json.loads(await _read_body(request, MAX_FINISH_BYTES))
            total = report["size"]
            if not isinstance(total, int) or isinstance(total, bool):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            raise UploadRefused(
                400, 'the body must be JSON {"size": total bytes, ...}', upload.size) from None
        _take_report(upload, report)
        interrupted = report.get("interrupted")
        reason = f"the guest's recorder was interrupted: {interrupted}" if interrupted else None
        final = await upload.finish(total, reason)
    except UploadRefused as exc:
        return _refusal(exc)
    body = {"size": upload.size, "state": upload.state, "file": final.name if final else None}
    return web.json_response(body, headers=_NO_CACHE)


def _take_report(upload: GuestUpload, report: dict) -> None:
    """What the page says about its recorder: MIME type and clock times, for the sidecar."""
    mime = report.get("mimeType")
    if isinstance(mime, str) and len(mime) < 200:
        upload.mime_type = mime
    for key, attr in (("recorderStartedMs", "recorder_started_ms"),
                      ("pageMinusStudioMs", "page_minus_studio_ms")):
        value = report.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            setattr(upload.times, attr, float(value))
    frames = report.get("cameraFrames")
    if type(frames) is int and frames >= 0:
        upload.extra["camera_frames"] = frames  # what the guest's camera delivered meanwhile
    digest = report.get("sha256")
    if isinstance(digest, str) and len(digest) == 64:
        upload.extra["page_sha256"] = digest


def add_upload_routes(app: web.Application, uploads: GuestUploads) -> None:
    app[UPLOADS_KEY] = uploads
    app.router.add_put("/upload/{upload_id}", put_piece)
    app.router.add_get("/upload/{upload_id}", get_state)
    app.router.add_post("/upload/{upload_id}/finish", post_finish)

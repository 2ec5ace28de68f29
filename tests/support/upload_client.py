"""The guest page's side of an upload, over real HTTP to the studio's upload routes."""

from __future__ import annotations

import contextlib
import json

import aiohttp
from aiohttp import web

from guestrec.uploads.guest_uploads import GuestUploads
from guestrec.uploads.upload_routes import add_upload_routes


@contextlib.asynccontextmanager
async def upload_server(uploads: GuestUploads):
    """The upload routes on 127.0.0.1; yields an HTTP session to them."""
    app = web.Application()
    add_upload_routes(app, uploads)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        async with aiohttp.ClientSession(base) as http:
            yield http
    finally:
        await uploads.close_all()
        await runner.cleanup()


async def put(http, upload, offset: int, data: bytes, key: str | bool | None = None) -> tuple[int, dict]:
    """One piece at `offset`; `key`: another key than the upload's, or False for none."""
    headers = {} if key is False else {"Authorization": f"Bearer {key or upload.key}"}
    async with http.put(f"/upload/{upload.upload_id}?offset={offset}", data=data, headers=headers) as r:
        return r.status, await r.json()


async def finish(http, upload, size: int, key: str | None = None, **report) -> tuple[int, dict]:
    headers = {"Authorization": f"Bearer {key or upload.key}"}
    body = json.dumps({"size": size, **report})
    async with http.post(f"/upload/{upload.upload_id}/finish", data=body, headers=headers) as r:
        return r.status, await r.json()


async def put_in_slices(http, upload, data: bytes, size: int) -> int:
    """Send `data` in slices of `size` bytes, as MediaRecorder's timeslices; returns the
    size the studio acknowledged last."""
    held = 0
    for offset in range(0, len(data), size):
        status, body = await put(http, upload, offset, data[offset:offset + size])
        assert status == 200, body
        held = body["size"]
    return held

"""A copy-mode file whose picture changes size mid-stream plays at each part's own size in
Chromium (a <video> element's videoWidth/videoHeight), as it decodes at them in FFmpeg."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
from aiohttp import web

from guestrec.plan import make_plan
from support.cdp import CHROMIUM, Chromium
from support.guest_run import GuestSpec, record_guests
from support.synthetic import MovingVideoTrack, ToneAudioTrack

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium"),
]


async def sizes_in_chromium(media: Path, times: list[float], profile: Path) -> list[tuple[int, int]]:
    app = web.Application()

    async def page(request: web.Request) -> web.Response:
        return web.Response(text='<video id="v" src="/file.webm" muted></video>', content_type="text/html")

    async def file(request: web.Request) -> web.FileResponse:
        return web.FileResponse(media)

    app.router.add_get("/", page)
    app.router.add_get("/file.webm", file)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        async with Chromium(profile) as browser:
            tab = await browser.open(f"http://127.0.0.1:{runner.addresses[0][1]}/")
            await tab.wait_for("document.getElementById('v').readyState >= 1", 15)
            sizes = []
            for t in times:
                await tab.evaluate("new Promise((done) => { const v = document.getElementById('v');"
                                   f" v.onseeked = () => done(); v.currentTime = {t}; }})")
                await asyncio.sleep(0.2)
                sizes.append(tuple(await tab.evaluate(
                    "[document.getElementById('v').videoWidth, document.getElementById('v').videoHeight]")))
            return sizes
    finally:
        await runner.cleanup()


def test_copy_file_with_a_size_change_plays_at_each_size_in_chromium(tmp_path: Path) -> None:
    track = MovingVideoTrack(640, 360, fps=15)
    spec = GuestSpec("resize", [track, ToneAudioTrack()], make_plan(2000, codec="copy"), tmp_path)

    def during(results, t: float) -> None:
        if t >= 2.5 and track.width != 480:
            track.set_size(480, 360)

    (result,) = asyncio.run(record_guests([spec], seconds=5.5, during=during))
    media = tmp_path / "file.webm"
    shutil.copy(result.path, media)
    sizes = asyncio.run(asyncio.wait_for(sizes_in_chromium(media, [0.5, 1.5, 4.5, 5.0], tmp_path / "profile"), 60))
    print(f"Chromium's picture size at 0.5, 1.5, 4.5, 5.0 s: {sizes}")
    assert sizes[:2] == [(640, 360), (640, 360)] and sizes[2:] == [(480, 360), (480, 360)]

"""A copy-mode file whose picture changes size mid-stream plays at each part's own size in
Chromium (a <video> element's videoWidth/videoHeight) and in VLC (its video output is
reconfigured to the new visible size), as it decodes at them in FFmpeg."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from aiohttp import web

from guestrec.common.plan import make_plan
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


@pytest.fixture(scope="module")
def resized_file(tmp_path_factory) -> Path:
    """A copy-mode recording: 640x360 for 2.5 s, then 480x360."""
    tmp_path = tmp_path_factory.mktemp("copy-resize")
    track = MovingVideoTrack(640, 360, fps=15)
    spec = GuestSpec("resize", [track, ToneAudioTrack()], make_plan(2000, codec="copy"), tmp_path)

    def during(results, t: float) -> None:
        if t >= 2.5 and track.width != 480:
            track.set_size(480, 360)

    (result,) = asyncio.run(record_guests([spec], seconds=5.5, during=during))
    media = tmp_path / "file.webm"
    shutil.copy(result.path, media)
    return media


def test_copy_file_with_a_size_change_plays_at_each_size_in_chromium(
        resized_file: Path, tmp_path: Path) -> None:
    sizes = asyncio.run(asyncio.wait_for(
        sizes_in_chromium(resized_file, [0.5, 1.5, 4.5, 5.0], tmp_path / "profile"), 60))
    print(f"Chromium's picture size at 0.5, 1.5, 4.5, 5.0 s: {sizes}")
    assert sizes[:2] == [(640, 360), (640, 360)] and sizes[2:] == [(480, 360), (480, 360)]


# VLC's video output logs each format it is configured for: "sz" is the decoder's padded
# buffer, "vsz" the visible picture that the window shows.
VLC_FORMAT = re.compile(
    r"main video output debug: original format sz \d+x\d+, of \(\d+,\d+\), vsz (\d+)x(\d+)")


@pytest.mark.skipif(not shutil.which("cvlc"), reason="needs VLC (Debian's vlc-bin)")
def test_copy_file_with_a_size_change_plays_at_each_size_in_vlc(resized_file: Path) -> None:
    # VLC will not run as root: play a world-readable copy as nobody when we are root.
    with tempfile.TemporaryDirectory(prefix="guestrec-vlc-") as folder:
        os.chmod(folder, 0o755)
        media = Path(folder) / "file.webm"
        shutil.copy(resized_file, media)
        media.chmod(0o644)
        command = ["cvlc", "-vv", "-I", "dummy", "--no-audio", "--vout=dummy", "--play-and-exit", str(media)]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "nobody", "--", "env", f"HOME={folder}", *command]
        run = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=folder)
    sizes = [(int(w), int(h)) for w, h in VLC_FORMAT.findall(run.stdout + run.stderr)]
    print(f"VLC's video output sizes, in order: {sizes}")
    assert sizes, (run.returncode, (run.stdout + run.stderr)[-2000:])
    changes = [size for i, size in enumerate(sizes) if i == 0 or size != sizes[i - 1]]
    assert changes == [(640, 360), (480, 360)], sizes

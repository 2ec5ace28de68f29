"""Cost of recording in the guest's browser: guest CPU per recorder codec, studio CPU per MB.

1. Headless Chromium joins with its fake 1280x720 camera at 30 fps and streams live to the
   real server; for each recorder codec (and "none": the live stream alone) the CPU time of
   all Chromium processes is measured over --seconds, with the live stream's frame rate
   and the recorder's output rate.
2. The upload endpoint alone, in its own process, takes --upload-mb of 0.5 s slices at
   6000 kbps over HTTP; its CPU time per MB is printed.

    .venv/bin/python tests/bench/bench_guest_recorder.py [--seconds 20]
        [--codecs none,vp8,h264,vp9,av1] [--upload-mb 100]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent), str(HERE.parent.parent / "lib")]

import aiohttp  # noqa: E402

from obs_launcher.obs_config import free_port  # noqa: E402
from support.cdp import Chromium  # noqa: E402
from support.guest_server import running_server  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(root_pid: int) -> float:
    """utime + stime of a process and all its descendants."""
    stats = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                text = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            fields = text.rsplit(")", 1)[1].split()
            stats[int(entry)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    family, grown = {root_pid}, True
    while grown:
        grown = False
        for pid, (ppid, _) in stats.items():
            if ppid in family and pid not in family:
                family.add(pid)
                grown = True
    return sum(stats[p][1] for p in family if p in stats) / TICK


async def guest_run(codec: str, seconds: float, work: Path, ramp_up: float = 3.0) -> dict:
    # The studio only copies (or records nothing itself), so its CPU stays off the guest's.
    record_at, plan_codec = ("studio", "copy") if codec == "none" else ("guest", codec)
    async with running_server(work / codec, record=6000, codec=plan_codec, record_at=record_at) as server:
        async with Chromium(work / f"profile-{codec}") as browser:
            page = await browser.open(f"{server.base}/?name=Bench&token={server.token}")
            await page.wait_for("window.guestState.media", 15)
            await page.evaluate("document.getElementById('join').click()")
            await page.wait_for("window.guestState.connected", 30)
            if codec != "none":
                await page.wait_for("window.guestRecorderState.recording", 30)
            await asyncio.sleep(ramp_up)  # the live stream's bitrate and the encoders settle
            stats_js = "JSON.stringify(window.guestRecorderState.live || {})"  # refreshed every 2 s
            before = cpu_seconds(browser.process.pid)
            start_bytes = await page.evaluate("window.guestRecorderState.recordedBytes")
            sent0 = json.loads(await page.evaluate(stats_js)).get("bytesSent", 0)
            t0 = time.monotonic()
            await asyncio.sleep(seconds)
            elapsed = time.monotonic() - t0
            cpu = cpu_seconds(browser.process.pid) - before
            end_bytes = await page.evaluate("window.guestRecorderState.recordedBytes")
            live = json.loads(await page.evaluate(stats_js))
            mime = await page.evaluate("window.guestRecorderState.mimeType")
            # Read while the camera is on: hanging up empties the preview.
            fps = await page.evaluate("""(async () => {
                const t = document.getElementById('preview').srcObject.getVideoTracks()[0];
                return t.getSettings().frameRate; })()""")
            await page.evaluate("document.getElementById('hangup').click()")
            if codec != "none":
                await page.wait_for("window.guestRecorderState.finished.length > 0", 120)
    return {
        "codec": codec, "mime": mime if codec != "none" else "-", "cpu": cpu / elapsed,
        "recorder_kbps": (end_bytes - start_bytes) * 8 / elapsed / 1000 if codec != "none" else 0.0,
        "live_kbps": (live.get("bytesSent", 0) - sent0) * 8 / elapsed / 1000,
        "live_size": f"{live.get('width')}x{live.get('height')}", "camera_fps": fps,
        "live_fps": live.get("fps"),
    }


UPLOAD_SERVER = """
import asyncio, sys
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from aiohttp import web
from guestrec.common.plan import make_plan
from guestrec.uploads.guest_plan import guest_recording
from guestrec.uploads.guest_uploads import GuestUploads
from guestrec.uploads.upload_routes import add_upload_routes

async def main():
    uploads = GuestUploads()
    app = web.Application()
    add_upload_routes(app, uploads)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", int(sys.argv[2])).start()
    upload = uploads.create("Bench", guest_recording(make_plan(6000)), Path(sys.argv[3]) / "Bench_1")
    upload.started -= 3600  # a long take: the budget is no limit here
    print(upload.upload_id, upload.key, flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


async def upload_run(megabytes: int, work: Path) -> dict:
    port = free_port()
    lib = str(HERE.parent.parent / "lib")
    proc = subprocess.Popen([sys.executable, "-c", UPLOAD_SERVER, lib, str(port), str(work)],
                            stdout=subprocess.PIPE, text=True)
    try:
        upload_id, key = proc.stdout.readline().split()
        piece = os.urandom(6000 * 1000 // 8 // 2)  # 0.5 s at 6000 kbps
        count = megabytes * 1_000_000 // len(piece)
        before = cpu_seconds(proc.pid)
        t0 = time.monotonic()
        async with aiohttp.ClientSession(f"http://127.0.0.1:{port}") as http:
            for index in range(count):
                async with http.put(f"/upload/{upload_id}?offset={index * len(piece)}", data=piece,
                                    headers={"Authorization": f"Bearer {key}"}) as r:
                    assert r.status == 200, await r.text()
        elapsed = time.monotonic() - t0
        cpu = cpu_seconds(proc.pid) - before
        total_mb = count * len(piece) / 1e6
    finally:
        proc.terminate()
        proc.wait(10)
    return {"mb": total_mb, "cpu": cpu, "seconds": elapsed}


def main(argv: list[str] | None = None) -> dict:
    """Returns {"guest": a row per recorder codec, "upload": the upload endpoint's figures}."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--codecs", default="none,vp8,h264")
    parser.add_argument("--upload-mb", type=int, default=100)
    parser.add_argument("--ramp-up", type=float, default=3.0,
                        help="seconds after joining before measuring (default 3)")
    args = parser.parse_args(argv)
    result: dict = {"guest": [], "upload": None}
    with tempfile.TemporaryDirectory(prefix="bench-guestrec-") as tmp:
        work = Path(tmp)
        print(f"Guest CPU, Chromium 1280x720@30 fake camera, live stream + recorder, "
              f"{args.seconds:.0f} s each")
        print(f"{'recorder':<8} {'mime type':<30} {'guest CPU':>10} {'recorder kbps':>14} {'live kbps':>10} "
              f"{'live size':>10} {'live fps':>9}")
        for codec in [c for c in args.codecs.split(",") if c]:
            r = asyncio.run(guest_run(codec, args.seconds, work, args.ramp_up))
            result["guest"].append(r)
            print(f"{r['codec']:<8} {r['mime']:<30} {r['cpu'] * 100:>9.0f}% {r['recorder_kbps']:>14.0f} "
                  f"{r['live_kbps']:>10.0f} {r['live_size']:>10} {r['live_fps'] or 0:>9.0f}", flush=True)
        if args.upload_mb > 0:
            u = result["upload"] = asyncio.run(upload_run(args.upload_mb, work))
            print(f"\nStudio upload endpoint: {u['mb']:.0f} MB in 0.5 s slices of 6000 kbps, "
                  f"{u['seconds']:.1f} s wall, {u['cpu']:.2f} CPU s = "
                  f"{u['cpu'] / u['mb'] * 1000:.1f} CPU ms per MB "
                  f"(fsync per slice)")
    return result


if __name__ == "__main__":
    main()

"""The baseline for the recording benchmark: a bare WHIP receiver that records each guest
with aiortc's own MediaRecorder (decode, then re-encode with its defaults).

    python baseline_receiver.py --port 8790 --out DIR
Stops on SIGINT/SIGTERM, finalizing every file.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import uuid
from pathlib import Path

from aiohttp import web
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaRecorder


async def main(port: int, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    guests: dict[str, tuple[RTCPeerConnection, MediaRecorder]] = {}

    async def publish(request: web.Request) -> web.Response:
        offer = await request.text()
        name = request.match_info["guest"]
        session_id = uuid.uuid4().hex
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        recorder = MediaRecorder(str(out / f"{name}-{session_id[:6]}.webm"))
        pc.on("track", lambda track: recorder.addTrack(track))
        await pc.setRemoteDescription(RTCSessionDescription(offer, "offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        await recorder.start()
        guests[session_id] = (pc, recorder)
        return web.Response(status=201, text=pc.localDescription.sdp, content_type="application/sdp",
                            headers={"Location": f"/whip/session/{session_id}"})

    async def hang_up(request: web.Request) -> web.Response:
        entry = guests.pop(request.match_info["session"], None)
        if entry is None:
            return web.Response(status=404)
        pc, recorder = entry
        await recorder.stop()
        await pc.close()
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post("/whip/{guest}", publish)
    app.router.add_delete("/whip/session/{session}", hang_up)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    print("ready", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    for pc, recorder in list(guests.values()):
        await recorder.stop()
        await pc.close()
    await runner.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    asyncio.run(main(args.port, args.out))

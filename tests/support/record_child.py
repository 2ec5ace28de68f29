"""A process that records one synthetic guest until it is killed (for crash tests).

    python -m support.record_child OUT_DIR RECORD CODEC

The guest sends CounterVideoTrack (frame numbers in the picture). Prints one JSON line
once the recording file has begun: {"path": ..., "track_start": <time.time() of frame 0>,
"fps": 30}, so a test knows which frame the sender was at when it killed the process.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from guestrec.common.plan import make_plan
from guestrec.media import GuestMedia
from support.peer_pair import PeerPair
from support.synthetic import CounterVideoTrack, ToneAudioTrack


async def main(out_dir: Path, record: str, codec: str) -> None:
    media = GuestMedia("crash")
    video = CounterVideoTrack(640, 360, fps=30)
    async with PeerPair([video, ToneAudioTrack()], on_track=media.attach) as pair:
        await pair.connected()
        path = media.start_recording(make_plan(record, codec=codec), out_dir)
        while True:
            status = media.recording_status() or {}
            if status.get("started_utc"):
                line = {"path": str(path), "track_start": video.clock.origin(), "fps": video.fps}
                print(json.dumps(line), flush=True)
                break
            await asyncio.sleep(0.02)
        while True:  # until SIGKILL
            await asyncio.sleep(1)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), sys.argv[2], sys.argv[3]))

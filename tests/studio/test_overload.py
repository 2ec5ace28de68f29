"""More transcoded guests than the machine keeps up with: nothing is lost without a word.

Real aiortc guests send numbered pictures (CounterVideoTrack); each recording transcodes
them. The guests then hang up as the roster does it (connection closed first, recording
finalized after), so the backlog still in the decoders has to be written at hang-up.
Each sidecar's counts are checked against the file: the frames it says were written are
the file's frames, and every frame number missing from the file is a frame it reports as
dropped (or one the network lost, which the tap counts).
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import aiohttp

from guestrec.common.plan import make_plan
from guestrec.media import writer as writer_module
from guestrec.media.sidecar import read_sidecar
from support.guest_run import GuestSpec, record_guests
from support.media_probe import decoded_video, read_counter
from support.serve_process import ServeProcess
from support.synthetic import CounterVideoTrack, ToneAudioTrack
from support.whip_client import WhipClient

GUESTS = int(os.environ.get("OVERLOAD_GUESTS", "6"))
RECORD_SECONDS = 4.0


async def overload(server: ServeProcess) -> dict:
    clients = [
        WhipClient(f"{server.base}/whip/busy{i}", token=server.token, data_channel=False,
                   tracks=[ToneAudioTrack(), CounterVideoTrack(640, 360, fps=30)])
        for i in range(GUESTS)
    ]
    lag: dict[str, float] = {}
    try:
        for client in clients:  # one after the other, as guests join (see test_slots.py)
            await client.publish()
            await client.wait_connected()
        deadline = time.monotonic() + RECORD_SECONDS
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:  # bounded: RECORD_SECONDS
                async with http.get(f"{server.base}/api/guests", headers=server.operator()) as resp:
                    for status in await resp.json():
                        lag[status["name"]] = max(lag.get(status["name"], 0.0),
                                                  status["recording_lag_seconds"])
                await asyncio.sleep(0.3)
        made = {f"busy{i}": c.tracks[1].index for i, c in enumerate(clients)}
        hung_up = time.monotonic()
        await asyncio.gather(*(c.delete() for c in clients))  # answered once finalized
        finalize_seconds = time.monotonic() - hung_up
    finally:
        for client in clients:
            await client.close()
    return {"lag": lag, "finalize_seconds": finalize_seconds, "made": made}


def test_overloaded_recordings_account_for_every_frame(tmp_path: Path) -> None:
    server = ServeProcess(tmp_path, "--record", "6000")
    try:
        outcome = asyncio.run(overload(server))
    finally:
        output = server.stop()
    print(f"hang-up of {GUESTS} guests answered after {outcome['finalize_seconds']:.1f} s")
    total_dropped = 0
    paths = sorted(tmp_path.rglob("busy*.webm"))
    assert len(paths) == GUESTS, sorted(p.name for p in tmp_path.rglob("*"))
    for path in paths:
        side = read_sidecar(path)
        lost_in_network = side["network"]["video"]["packets_lost"]
        lag = outcome["lag"][side["guest"]]
        video = side["frames"]["video"]
        numbers = [n for _, n in decoded_video(path, read_counter)]
        in_file = len(numbers)
        span = numbers[-1] - numbers[0] + 1
        gaps = span - len(set(numbers))
        dropped = sum(video["dropped"].values())
        total_dropped += dropped + sum(side["frames"]["audio"]["dropped"].values())
        print(f"{path.name}: status {side['status']}, frames {side['frames']}, in file {in_file} "
              f"(numbers {numbers[0]}..{numbers[-1]}, {gaps} missing inside), "
              f"lag up to {lag:.1f} s in the status (sidecar {side['max_lag_seconds']} s), "
              f"{lost_in_network} packets lost in transit")
        assert video["written"] == in_file  # the sidecar's count is the file's
        assert video["received"] == video["written"] + dropped
        assert len(set(numbers)) == in_file  # no frame written twice
        if lost_in_network == 0:
            # Every number missing inside the file is a frame the sidecar reports dropped.
            assert gaps <= dropped, (gaps, video)
        # The backlog at hang-up is written: every frame that arrived up to the hang-up is
        # counted as received, so written == received means none of it was thrown away.
        # (The guest's own encoder may still have held pictures it never sent; on a busy
        # machine that is many: `made` is printed for comparison, not asserted on.)
        print(f"  {side['guest']}: the guest's track had made {outcome['made'][side['guest']]} pictures")
        if side["status"] == "complete":
            assert dropped == 0 and gaps == 0 and not side["errors"]
        else:
            assert side["status"] == "incomplete" and dropped > 0
            assert any("dropped" in line for line in side["errors"]), side["errors"]
    print(f"{GUESTS} guests: {total_dropped} frames dropped in all")
    if any(lag >= 2.0 for lag in outcome["lag"].values()):
        assert "behind live" in output  # the log says so too


def test_writer_that_cannot_keep_up_drops_only_what_the_sidecar_counts(
        tmp_path: Path, monkeypatch) -> None:
    """The recording thread made slower than real time (a slow disk or encoder): decoded
    pictures are dropped once its queue is full (75 pictures, see bench_lag.py for how far
    behind each mode gets first), and the sidecar names exactly which are missing."""
    codec = "vp8"
    original = writer_module.RecordingWriter._handle

    def slow_handle(self, item):
        time.sleep(0.03)  # 30 ms per item: ~80 items a second arrive, ~33 are taken
        return original(self, item)

    monkeypatch.setattr(writer_module.RecordingWriter, "_handle", slow_handle)
    spec = GuestSpec("slow", [CounterVideoTrack(320, 240, fps=30), ToneAudioTrack()],
                     make_plan(1000, codec=codec), tmp_path)
    (result,) = asyncio.run(record_guests([spec], seconds=6.0, warmup=0.5))
    side = read_sidecar(result.path)
    video = side["frames"]["video"]
    numbers = [n for _, n in decoded_video(result.path, read_counter)]
    gaps = numbers[-1] - numbers[0] + 1 - len(set(numbers))
    dropped = sum(video["dropped"].values())
    tail = result.media.taps["video"].frames  # frames the tap passed on, all told
    print(f"{codec}: {side['status']}, frames {side['frames']}, file {len(numbers)} frames "
          f"({numbers[0]}..{numbers[-1]}, {gaps} missing inside), tap passed {tail}")
    assert dropped > 0 and side["status"] == "incomplete"
    assert video["written"] == len(numbers) == len(set(numbers))
    # Every frame missing inside the file is one the sidecar counts as dropped; the rest
    # of its count lies after the file's last frame (dropped at the end of the queue).
    assert gaps <= dropped
    assert video["received"] == video["written"] + dropped
    assert any("dropped" in line for line in side["errors"])

"""A crowd of aiortc guests asking for the studio's return, in a process of its own, for
the return feed's benchmark (the studio's CPU is then measured without the guests').

    python tests/support/return_swarm.py BASE TOKEN --guests 4 --seconds 10 [--video]
    python tests/support/return_swarm.py --direct --seconds 5     # no studio: peer to peer

Guest 0 beeps (1 kHz, 50 ms, once a second), the others hum quietly (their own low
tones). Guest 1 listens: each beep's onset in what it hears, against when guest 0's
"microphone" gave it, is one mouth-to-ear delay. `--direct` measures the same two
guests connected to each other with no studio between, the baseline the studio adds to.

Prints `MEASURE START` once every guest is connected and warmed up, `MEASURE END`
after `--seconds`, then one line `RESULT {json}`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent / "lib"))

from aiortc import RTCConfiguration, RTCPeerConnection

from support.return_guest import ReturnGuest
from support.synthetic import (
    BeepAudioTrack,
    MovingVideoTrack,
    SharedClock,
    ToneAudioTrack,
)

RATE = 48_000
PERIOD, FIRST_BEEP, BEEP_SECONDS = 1.0, 0.5, 0.05
ONSET_LEVEL = 0.3 * 32767  # the beep is 0.8 of full scale, the hum 0.02 per guest
WARMUP_SECONDS = 3.0


def beep_times(clock: SharedClock, until: float) -> list[float]:
    """Wall-clock instants at which the beeping guest's microphone gave each onset."""
    start = clock.origin() + FIRST_BEEP
    return [start + k * PERIOD for k in range(int((until - start) / PERIOD) + 1)]


def onsets(heard: list[tuple[float, np.ndarray]]) -> list[float]:
    """Arrival instants of beep onsets: a loud sample after at least 100 ms of quiet, its
    instant being its frame's arrival plus its place in the frame."""
    if not heard:
        return []
    times = np.concatenate([arrival + np.arange(len(s)) / RATE for arrival, s in heard])
    loud = np.flatnonzero(np.concatenate(
        [np.abs(s[:, 0].astype(np.int32)) > ONSET_LEVEL for _, s in heard]))
    gaps = np.diff(loud, prepend=-RATE)
    return [float(times[i]) for i, gap in zip(loud, gaps, strict=True) if gap >= RATE // 10]


def delays_ms(emitted: list[float], arrived: list[float]) -> list[float]:
    out = []
    for at in arrived:
        before = [e for e in emitted if e <= at]
        if before and at - before[-1] < PERIOD / 2:
            out.append(round((at - before[-1]) * 1000, 1))
    return out


async def crowd(args: argparse.Namespace) -> dict:
    clock = SharedClock()
    guests: list[ReturnGuest] = []
    pair = DirectPair()
    try:
        await pair.start()
        for index in range(args.guests):
            if index == 0:
                audio = BeepAudioTrack(PERIOD, FIRST_BEEP, BEEP_SECONDS, clock)
            else:
                audio = ToneAudioTrack(frequency=150.0 + 23.0 * index, amplitude=0.02)
            tracks = [audio] + ([MovingVideoTrack(320, 180, fps=15, seed=index)] if args.video else [])
            # Only the two measured guests decode the grid: the crowd's process stays light.
            guest = ReturnGuest(f"{args.base}/whip/guest{index}", args.token, tracks,
                                decode_video=index < 2)
            await guest.publish()
            await guest.wait_connected(20)
            guests.append(guest)
        await asyncio.sleep(WARMUP_SECONDS)
        print("MEASURE START", flush=True)
        start = time.time()
        await asyncio.sleep(args.seconds)
        print("MEASURE END", flush=True)
        end = time.time()
        result = {
            "guests": args.guests,
            "return_start_s": [round(g.heard[0][0] - g.connected_at, 3) if g.heard else None for g in guests],
            "video_frames": [len([s for s in g.seen if start <= s[0] < end]) for g in guests[:2]],
            "keyframes": [g.keyframes for g in guests],
            "video_sizes": sorted({(w, h) for g in guests for _, w, h in g.seen}),
        }
        if len(guests) >= 2:
            listener = guests[1]
            heard = [(t, s) for t, s in listener.heard if start <= t < end]
            result["mouth_to_ear_ms"] = delays_ms(beep_times(clock, end), onsets(heard))
            result["direct_mouth_to_ear_ms"] = pair.delays(start, end)
        return result
    finally:
        await pair.close()
        for guest in guests:
            await guest.close()


class DirectPair:
    """The beeping guest straight to a listening one: aiortc on both ends, no studio.
    Run beside the crowd, under the same load, it is the baseline the studio adds to."""

    def __init__(self) -> None:
        self.clock = SharedClock()
        self.talker = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.listener = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.heard: list[tuple[float, np.ndarray]] = []
        self._readers: list[asyncio.Task] = []
        self.listener.on("track", lambda track: self._readers.append(
            asyncio.ensure_future(self._read(track))))

    async def _read(self, track) -> None:
        while True:
            frame = await track.recv()
            self.heard.append((time.time(), frame.to_ndarray().reshape(-1, 2).copy()))

    async def start(self) -> None:
        beeps = BeepAudioTrack(PERIOD, FIRST_BEEP, BEEP_SECONDS, self.clock)
        self.talker.addTransceiver(beeps, direction="sendonly")
        await self.talker.setLocalDescription(await self.talker.createOffer())
        await self.listener.setRemoteDescription(self.talker.localDescription)
        await self.listener.setLocalDescription(await self.listener.createAnswer())
        await self.talker.setRemoteDescription(self.listener.localDescription)

    def delays(self, start: float, end: float) -> list[float]:
        heard = [(t, s) for t, s in self.heard if start <= t < end]
        return delays_ms(beep_times(self.clock, end), onsets(heard))

    async def close(self) -> None:
        for reader in self._readers:
            reader.cancel()
        await self.talker.close()
        await self.listener.close()


async def direct(args: argparse.Namespace) -> dict:
    pair = DirectPair()
    try:
        await pair.start()
        await asyncio.sleep(WARMUP_SECONDS)
        start = time.time()
        await asyncio.sleep(args.seconds)
        return {"mouth_to_ear_ms": pair.delays(start, time.time())}
    finally:
        await pair.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base", nargs="?")
    parser.add_argument("token", nargs="?")
    parser.add_argument("--guests", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--video", action="store_true", help="guests send 320x180 at 15 fps too")
    parser.add_argument("--direct", action="store_true", help="two guests peer to peer, no studio")
    args = parser.parse_args()
    result = asyncio.run(direct(args) if args.direct else crowd(args))
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()

"""Guests of `serve --sfu` opening their return lines, in processes of their own, for the
benchmark of the return through Janus (tests/bench/bench_sfu_return.py): the studio's and
Janus's CPU are then read without the guests' Python in their processes.

    python tests/support/sfu_return_swarm.py BASE TOKEN --total 8 --crowd --lines audio+grid
    python tests/support/sfu_return_swarm.py BASE TOKEN --total 8 --seconds 10 --lines audio+grid

Every guest publishes by WHIP (its voice and 320x180 at 15 fps), then, with `--lines
audio`, opens its sound connection into the AudioBridge (the same voice in, everyone
else out) and with `--lines audio+grid` also subscribes to the studio's grid; `--lines
none` only publishes. Guest 0 beeps (1 kHz, 50 ms, once a second), the others hum
quietly, each at a pitch of its own; guest 1 listens: each beep's onset in what it hears
against when guest 0's microphone gave it is one mouth-to-ear delay. Two aiortc peers
connected directly, under the same load, give the baseline.

Guests 0 and 1 and the direct pair run in one process, the rest (`--crowd`) in another,
started first: the delays measured are then not those of a Python loop busy with many
guests. The crowd prints `READY` when its lines are open, then waits for a line
`WINDOW start end` on stdin. The measuring process prints `MEASURE START` once its
guests are connected and warmed up and `MEASURE END` after `--seconds`. Each ends with
one line `RESULT {json}`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent / "lib"))

from aiortc.mediastreams import MediaStreamTrack
from av import AudioFrame

from support.return_guest import ReturnGuest
from support.return_swarm import (
    BEEP_SECONDS,
    FIRST_BEEP,
    PERIOD,
    DirectPair,
    beep_times,
    delays_ms,
    onsets,
)
from support.sfu_return_lines import SfuReturnLines
from support.synthetic import (
    AUDIO_RATE,
    AUDIO_SAMPLES,
    BeepAudioTrack,
    MovingVideoTrack,
    SharedClock,
    ToneAudioTrack,
)
from support.tones import tone_levels
from support.whip_client import WhipClient

BEEP_HZ = 1000.0
STUDIO_HZ = 1800.0  # the studio's sound (--studio-audio), as the bench writes it
HUM_AMPLITUDE = 0.02  # 8 hums and the studio stay under the onset level (0.3) beside a beep
SIGNAL = 200  # a sample above this (of 32767) is sound, not Opus's near-silence
WARMUP_S = 3.0  # past the AudioBridge's prebuffer and the first keyframes
STEP_TIMEOUT_S = 20.0  # any one publication or connection


def _sidon(count: int) -> list[int]:
    """The first `count` marks of the Mian-Chowla sequence (from 0): all sums of two marks
    differ, so no product of two or three tones (f1 + f2 - f3, 2 f1 - f2), which a lossy
    codec makes, falls on a guest's own pitch, as it would with evenly spaced ones."""
    marks, sums, candidate = [0], {0}, 0
    while len(marks) < count:
        candidate += 1
        new = {candidate + m for m in marks} | {2 * candidate}
        if not new & sums:
            marks.append(candidate)
            sums |= new
    return marks


HUM_STEP_HZ = 53.0  # 500, 800 and 1300 Hz (to the beep, the studio) are no multiples of it
HUMS = [2300.0 + HUM_STEP_HZ * m for m in _sidon(15)]  # up to 13 kHz: 16 guests at most


def hum_hz(index: int) -> float:
    """Guest `index`'s pitch (from 1): far above the beep, so its gated spectrum does not
    leak in."""
    if index > len(HUMS):
        raise SystemExit(f"at most {len(HUMS) + 1} guests: their pitches would pass 13 kHz")
    return HUMS[index - 1]


class LiveBeep(BeepAudioTrack):
    """A beep on a shared clock that starts at the present when first pulled, instead of
    sending every frame since the clock began in one burst (a second connection of the
    same microphone, opened later)."""

    async def recv(self) -> AudioFrame:
        if self.sample == 0 and self.clock.start is not None:
            behind = (time.time() - self.clock.start) * AUDIO_RATE
            self.sample = max(0, math.floor(behind / AUDIO_SAMPLES)) * AUDIO_SAMPLES
        return await super().recv()


class Lines(SfuReturnLines):
    """The return lines; the picture decoded or only received (many guests in one process)."""

    def __init__(self, guest: WhipClient, voice: MediaStreamTrack, decode_picture: bool) -> None:
        super().__init__(guest, voice)
        if not decode_picture:
            self.picture.on("track", lambda _track: [
                ReturnGuest._skip_decoding(t.receiver) for t in self.picture.getTransceivers()])


def voice(index: int, clock: SharedClock) -> MediaStreamTrack:
    if index == 0:
        return LiveBeep(PERIOD, FIRST_BEEP, BEEP_SECONDS, clock, frequency=BEEP_HZ)
    return ToneAudioTrack(hum_hz(index), amplitude=HUM_AMPLITUDE)


def first_sound(heard: list[tuple[float, np.ndarray]], opened: float) -> float | None:
    for at, samples in heard:
        if samples.size and int(np.abs(samples.astype(np.int32)).max()) > SIGNAL:
            return round(at - opened, 3)
    return None


def own_voice(lines: Lines, index: int, guests: int, start: float, end: float) -> dict | None:
    """dB of the guest's own pitch in what it hears, beside the quietest other voice (the
    other guests' hums and the studio; the beep, on 5% of the time, is left out) and
    beside a pitch nobody sends (the floor of the measure: Opus's noise, leakage)."""
    samples = lines.audio_between(start, end)
    if len(samples) < AUDIO_RATE:
        return None
    own = BEEP_HZ if index == 0 else hum_hz(index)
    others = [hum_hz(i) for i in range(1, guests) if i != index] + [STUDIO_HZ]
    floor = own + HUM_STEP_HZ / 2  # off every pitch and every product of pitches
    levels = tone_levels(samples, [own, floor, *others])
    quietest = min(others, key=lambda f: levels[f])
    return {"own_db": round(levels[own], 1), "others_min_db": round(levels[quietest], 1),
            "quietest_hz": quietest,
            "below_db": round(levels[quietest] - levels[own], 1), "floor_db": round(levels[floor], 1)}


async def join(args: argparse.Namespace, clock: SharedClock, indexes: range,
               guests: list[WhipClient], lines: list[Lines], opened: list[float]) -> None:
    """Publish guests `indexes`, then open their lines one after another."""
    for index in indexes:
        tracks = [voice(index, clock), MovingVideoTrack(320, 180, fps=15, seed=index + 1)]
        guest = WhipClient(f"{args.base}/whip/guest{index}", token=args.token, tracks=tracks,
                           data_channel=False)
        guests.append(guest)
        await asyncio.wait_for(guest.publish(), STEP_TIMEOUT_S)
    for guest in guests:
        await guest.wait_connected(STEP_TIMEOUT_S)
    if args.lines == "none":
        return
    for index, guest in zip(indexes, guests, strict=True):
        line = Lines(guest, voice(index, clock), decode_picture=index < 2)
        lines.append(line)
        opened.append(time.time())
        status = await asyncio.wait_for(line.open_sound(), STEP_TIMEOUT_S)
        assert status == 201, f"guest{index}: sound refused ({status})"
        if args.lines == "audio+grid":
            status = await asyncio.wait_for(line.open_picture(), STEP_TIMEOUT_S)
            assert status == 201, f"guest{index}: picture refused ({status})"


def heard(args: argparse.Namespace, indexes: range, lines: list[Lines], opened: list[float],
          start: float, end: float) -> dict:
    """What the guests heard and saw in the measured window."""
    if not lines:
        return {}
    return {
        "sound_start_s": [first_sound(line.heard, at) for line, at in zip(lines, opened, strict=True)],
        "own_voice": [own_voice(line, i, args.total, start, end)
                      for i, line in zip(indexes, lines, strict=True)],
        "grid_frames": [len([s for s in line.seen if start <= s[0] < end])
                        for i, line in zip(indexes, lines, strict=True) if i < 2],
        "grid_sizes": sorted({(w, h) for line in lines for _, w, h in line.seen}),
    }


async def measured(args: argparse.Namespace) -> dict:
    """The beeping and the listening guest (guests 0 and 1, as many as there are) and the
    direct pair: publish, open the lines, warm up, measure."""
    clock = SharedClock()
    indexes = range(min(args.total, 2))
    guests: list[WhipClient] = []
    lines: list[Lines] = []
    opened: list[float] = []
    pair = DirectPair()
    try:
        await pair.start()
        await join(args, clock, indexes, guests, lines, opened)
        await asyncio.sleep(WARMUP_S)
        print("MEASURE START", flush=True)
        start = time.time()
        await asyncio.sleep(args.seconds)
        print("MEASURE END", flush=True)
        end = time.time()
        result = {"window": [start, end], "direct_mouth_to_ear_ms": pair.delays(start, end),
                  **heard(args, indexes, lines, opened, start, end)}
        if len(lines) >= 2:
            listened = [(t, s) for t, s in lines[1].heard if start <= t < end]
            result["mouth_to_ear_ms"] = delays_ms(beep_times(clock, end), onsets(listened))
        return result
    finally:
        await asyncio.wait_for(close_all(pair, guests, lines), 30)


async def crowd(args: argparse.Namespace) -> dict:
    """Guests 2 and up: publish, open the lines, print READY, then wait for the measured
    window (a line "WINDOW start end" on stdin) and tell what they heard in it."""
    indexes = range(2, args.total)
    guests: list[WhipClient] = []
    lines: list[Lines] = []
    opened: list[float] = []
    try:
        await join(args, SharedClock(), indexes, guests, lines, opened)
        print("READY", flush=True)
        line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        words = line.split()
        if len(words) != 3 or words[0] != "WINDOW":
            raise SystemExit(f"no measured window given: {line!r}")
        return heard(args, indexes, lines, opened, float(words[1]), float(words[2]))
    finally:
        await asyncio.wait_for(close_all(None, guests, lines), 30)


async def close_all(pair: DirectPair | None, guests: list[WhipClient], lines: list[Lines]) -> None:
    if pair is not None:
        await pair.close()
    for line in lines:
        await line.close()
    for guest in guests:
        try:
            await guest.delete()  # the studio leaves Janus's rooms for it
        finally:
            await guest.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base")
    parser.add_argument("token")
    parser.add_argument("--total", type=int, default=2, help="guests in all (in both processes)")
    parser.add_argument("--crowd", action="store_true", help="guests 2 and up, else guests 0 and 1")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--lines", choices=["none", "audio", "audio+grid"], default="audio")
    args = parser.parse_args()
    # Publishing, connecting and opening lines take a few seconds a guest at most; the
    # crowd also waits for the measured window.
    limit = args.total * 3 * STEP_TIMEOUT_S + WARMUP_S + args.seconds + 60
    result = asyncio.run(asyncio.wait_for(crowd(args) if args.crowd else measured(args), limit))
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()

"""Guests of `serve --sfu` opening their return lines, in a process of their own, for the
benchmark of the return through Janus (tests/bench/bench_sfu_return.py): the studio's and
Janus's CPU are then read without the guests' Python in their processes.

    python tests/support/sfu_return_swarm.py BASE TOKEN --guests 4 --seconds 10 --lines audio+grid

Every guest publishes by WHIP (its voice and 320x180 at 15 fps), then, with `--lines
audio`, opens its sound connection into the AudioBridge (the same voice in, everyone
else out) and with `--lines audio+grid` also subscribes to the studio's grid; `--lines
none` only publishes. Guest 0 beeps (1 kHz, 50 ms, once a second), the others hum
quietly, each at a pitch of its own; guest 1 listens: each beep's onset in what it hears
against when guest 0's microphone gave it is one mouth-to-ear delay. Two aiortc peers
connected directly in this process, under the same load, give the baseline.

Prints `MEASURE START` once every guest is connected and warmed up, `MEASURE END` after
`--seconds`, then one line `RESULT {json}`.
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


def hum_hz(index: int) -> float:
    """Guest `index`'s pitch: far above the beep, so its gated spectrum does not leak in."""
    return 2200.0 + 200.0 * index


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

    def __init__(self, guest: WhipClient, voice, decode_picture: bool) -> None:
        super().__init__(guest, voice)
        if not decode_picture:
            self.picture.on("track", lambda _track: [
                ReturnGuest._skip_decoding(t.receiver) for t in self.picture.getTransceivers()])


def voice(index: int, clock: SharedClock):
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
    floor = own + 100.0  # halfway to the next guest's pitch
    levels = tone_levels(samples, [own, floor, *others])
    quietest = min(levels[f] for f in others)
    return {"own_db": round(levels[own], 1), "others_min_db": round(quietest, 1),
            "below_db": round(quietest - levels[own], 1), "floor_db": round(levels[floor], 1)}


async def crowd(args: argparse.Namespace) -> dict:
    clock = SharedClock()
    guests: list[WhipClient] = []
    lines: list[Lines] = []
    opened: list[float] = []
    pair = DirectPair()
    try:
        await pair.start()
        for index in range(args.guests):
            tracks = [voice(index, clock), MovingVideoTrack(320, 180, fps=15, seed=index + 1)]
            guest = WhipClient(f"{args.base}/whip/guest{index}", token=args.token, tracks=tracks,
                               data_channel=False)
            guests.append(guest)
            await asyncio.wait_for(guest.publish(), STEP_TIMEOUT_S)
        for guest in guests:
            await guest.wait_connected(STEP_TIMEOUT_S)
        if args.lines != "none":
            for index, guest in enumerate(guests):
                line = Lines(guest, voice(index, clock), decode_picture=index < 2)
                lines.append(line)
                opened.append(time.time())
                status = await asyncio.wait_for(line.open_sound(), STEP_TIMEOUT_S)
                assert status == 201, f"guest{index}: sound refused ({status})"
                if args.lines == "audio+grid":
                    status = await asyncio.wait_for(line.open_picture(), STEP_TIMEOUT_S)
                    assert status == 201, f"guest{index}: picture refused ({status})"
        await asyncio.sleep(WARMUP_S)
        print("MEASURE START", flush=True)
        start = time.time()
        await asyncio.sleep(args.seconds)
        print("MEASURE END", flush=True)
        end = time.time()
        result: dict = {"guests": args.guests, "lines": args.lines,
                        "direct_mouth_to_ear_ms": pair.delays(start, end)}
        if lines:
            result["sound_start_s"] = [first_sound(line.heard, at)
                                       for line, at in zip(lines, opened, strict=True)]
            result["own_voice"] = [own_voice(line, i, args.guests, start, end)
                                   for i, line in enumerate(lines)]
            result["grid_frames"] = [len([s for s in line.seen if start <= s[0] < end]) for line in lines[:2]]
            result["grid_sizes"] = sorted({(w, h) for line in lines for _, w, h in line.seen})
        if len(lines) >= 2:
            heard = [(t, s) for t, s in lines[1].heard if start <= t < end]
            result["mouth_to_ear_ms"] = delays_ms(beep_times(clock, end), onsets(heard))
        return result
    finally:
        await asyncio.wait_for(close_all(pair, guests, lines), 30)


async def close_all(pair: DirectPair, guests: list[WhipClient], lines: list[Lines]) -> None:
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
    parser.add_argument("--guests", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--lines", choices=["none", "audio", "audio+grid"], default="audio")
    args = parser.parse_args()
    # Publishing, connecting and opening lines take a few seconds a guest at most.
    limit = args.guests * 3 * STEP_TIMEOUT_S + WARMUP_S + args.seconds + 60
    result = asyncio.run(asyncio.wait_for(crowd(args), limit))
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()

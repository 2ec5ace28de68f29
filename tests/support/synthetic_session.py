"""A session folder made quickly without a studio: each guest's file is muxed from one
pre-encoded second (VP8 + Opus, or Opus only) repeated, with the manifest and sidecars the
studio writes. The sound is silent but for a 1 kHz beep of BEEP_SECONDS starting on every
whole second of the session's timeline (so stems can be checked), the picture black.

    make_session(folder, [GuestSpec("Ann", start=0.5, seconds=60), ...]) -> session folder

Times are those a decoder gives (frame.time): the beeps are on the session's whole seconds.
"""

from __future__ import annotations

import fractions
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
import numpy as np

RATE = 48_000
FPS = 30
BEEP_SECONDS = 0.1
PRE_SKIP = 312


@dataclass
class GuestSpec:
    name: str
    start: float  # session seconds of the file's time 0
    seconds: float
    video: bool = True
    recorded_at: str = "studio"  # or "guest": a browser-made file, placed by its offset
    status: str = "complete"
    part: int = 1
    size: tuple[int, int] = (160, 120)  # larger pictures move (a gradient and blocks), as a camera's do


def _picture(index: int, flash: bool, size: tuple[int, int]) -> np.ndarray:
    """RGB: white on the flash, else black at the smallest size; larger ones move, so an
    encoder (a proxy's) has real work: a sliding gradient and blocks that change."""
    width, height = size
    if flash:
        return np.full((height, width, 3), 235, np.uint8)
    if size == (160, 120):
        return np.full((height, width, 3), 16, np.uint8)
    ramp = np.add.outer(np.arange(height), np.arange(width)) + index * 8
    picture = np.repeat((16 + ramp % 200).astype(np.uint8)[:, :, None], 3, axis=2)
    rng = np.random.default_rng(index)
    for _ in range(12):
        x, y = rng.integers(0, width - 64), rng.integers(0, height - 64)
        picture[y:y + 64, x:x + 64] = rng.integers(16, 235, (64, 64, 3), dtype=np.uint8)
    return picture


def _unit(video: bool, phase: float, size: tuple[int, int] = (160, 120)) -> tuple[list[bytes], list[bytes]]:
    """One second of packets (video at FPS, Opus in 20 ms packets); the beep and the white
    frame come `phase` seconds into it. The Opus packets are those of the second second
    encoded (the encoder in its steady state), so the unit repeats without a seam."""
    audio = av.CodecContext.create("libopus", "w")
    audio.sample_rate, audio.layout, audio.format = RATE, "stereo", "s16"
    audio.time_base = fractions.Fraction(1, RATE)
    audio.bit_rate = 32_000
    audio.open()
    # The muxer's OpusHead says 312 samples of pre-skip: the decoder drops them and stamps
    # what follows 312 samples later, so the input leads by as much.
    t = (np.arange(2 * RATE) / RATE - phase + PRE_SKIP / RATE) % 1.0
    tone = np.where(t < BEEP_SECONDS, 0.7 * np.sin(2 * np.pi * 1000 * t), 0.0)
    pcm = (tone * 32767).astype(np.int16)
    encoded: list[bytes] = []
    for i in range(0, 2 * RATE, 960):
        stereo = np.repeat(pcm[i:i + 960], 2).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(stereo, format="s16", layout="stereo")
        frame.sample_rate, frame.pts, frame.time_base = RATE, i, fractions.Fraction(1, RATE)
        encoded += [bytes(p) for p in audio.encode(frame)]
    apackets = encoded[50:100]
    assert len(apackets) == 50, len(encoded)
    vpackets: list[bytes] = []
    if video:
        vctx = av.CodecContext.create("libvpx", "w")
        vctx.width, vctx.height, vctx.pix_fmt = *size, "yuv420p"
        vctx.time_base = fractions.Fraction(1, FPS)
        vctx.framerate = FPS
        vctx.bit_rate = 100_000 if size == (160, 120) else size[0] * size[1] * 3  # 2.8 Mbps at 720p
        vctx.options = {"deadline": "realtime", "cpu-used": "8", "g": str(FPS)}
        vctx.open()
        flash = round(phase * FPS) % FPS
        for i in range(FPS):
            frame = av.VideoFrame.from_ndarray(_picture(i, i == flash, size), format="rgb24").reformat(
                format="yuv420p")
            frame.pts, frame.time_base = i, fractions.Fraction(1, FPS)
            vpackets += [bytes(p) for p in vctx.encode(frame)]
        vpackets += [bytes(p) for p in vctx.encode(None)]
        assert len(vpackets) == FPS, len(vpackets)
    return vpackets, apackets


def write_guest_file(path: Path, spec: GuestSpec) -> None:
    phase = (-spec.start) % 1.0  # the session's whole seconds, in file time
    vpackets, apackets = _unit(spec.video, phase, spec.size)
    seconds = round(spec.seconds)
    ms = fractions.Fraction(1, 1000)
    container = "matroska" if path.suffix == ".mkv" else "webm"
    with av.open(str(path), "w", format=container) as out:
        vstream = None
        if vpackets:
            vstream = out.add_stream("libvpx", rate=FPS)
            vstream.width, vstream.height, vstream.pix_fmt = *spec.size, "yuv420p"
            vstream.time_base = ms
        astream = out.add_stream("libopus", rate=RATE)
        astream.layout = "stereo"
        astream.time_base = ms
        for second in range(seconds):
            if vstream is not None:
                for index, data in enumerate(vpackets):
                    packet = av.Packet(data)
                    packet.pts = packet.dts = round((second + index / FPS) * 1000)
                    packet.time_base, packet.stream = ms, vstream
                    packet.is_keyframe = index == 0
                    out.mux(packet)
            for index, data in enumerate(apackets):
                packet = av.Packet(data)
                packet.pts = packet.dts = second * 1000 + index * 20
                packet.duration = 20
                packet.time_base, packet.stream = ms, astream
                out.mux(packet)


def make_session(parent: Path, guests: list[GuestSpec], started: datetime | None = None,
                 ended: bool = True, stamp: str = "2026-01-01 10-00-00",
                 obs: GuestSpec | None = None) -> Path:
    """`obs`: OBS's own recording too (start and length), written beside the session
    folder as OBS does, with its run in the manifest."""
    started = started or datetime(2026, 1, 1, 9, 0, 0, tzinfo=UTC)
    folder = parent / f"Session {stamp}"
    folder.mkdir(parents=True)
    files = []
    studio_files: dict[str, str] = {}
    for spec in sorted(guests, key=lambda g: g.recorded_at != "studio"):
        suffix = ".guest.webm" if spec.recorded_at == "guest" else ".webm"
        name = f"{spec.name} {stamp}" + (f" ({spec.part})" if spec.part > 1 else "") + suffix
        path = folder / name
        write_guest_file(path, spec)
        begin = started + timedelta(seconds=spec.start)
        if spec.recorded_at == "guest":
            studio = studio_files[spec.name]
            studio_start = next(f["media_start_utc"] for f in files if f["file"] == studio)
            offset = (begin - datetime.fromisoformat(studio_start)).total_seconds()
            side = {"guest": spec.name, "recorded_at": "guest", "state": spec.status,
                    "complete": spec.status == "complete", "reason": None, "file": name,
                    "studio_offset": {"studio_file": studio, "method": "audio cross-correlation",
                                      "seconds": round(offset, 4)}}
        else:
            studio_files.setdefault(spec.name, name)
            side = {"guest": spec.name, "file": name, "status": spec.status,
                    "start_utc": (begin + timedelta(seconds=1.2)).isoformat(),
                    "end_utc": (begin + timedelta(seconds=spec.seconds + 1.2)).isoformat(),
                    "media_start_utc": begin.isoformat(), "duration_seconds": spec.seconds,
                    "take": {"id": spec.name, "part": spec.part}}
        (folder / name).with_suffix(".json").write_text(json.dumps(side, indent=2), encoding="utf-8")
        files.append({"file": name, "guest": spec.name, "status": side.get("status"),
                      "start_seconds": round(spec.start + 1.2, 3),
                      "media_start_seconds": round(spec.start, 3),
                      "sidecar": path.with_suffix(".json").name, "media_start_utc": begin.isoformat()})
    manifest = {
        "session": folder.name, "started": started.isoformat(timespec="milliseconds"),
        "ended": (started + timedelta(seconds=max(g.start + g.seconds for g in guests))).isoformat()
        if ended else None,
        "files": [{k: v for k, v in f.items() if k != "media_start_utc"} for f in files],
        "obs_recordings": [],
    }
    if obs is not None:
        path = parent / f"OBS {stamp}.mkv"
        write_guest_file(path, obs)
        manifest["obs_recordings"].append({"file": str(path), "start_seconds": obs.start,
                                           "end_seconds": obs.start + obs.seconds})
    (folder / "session.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return folder

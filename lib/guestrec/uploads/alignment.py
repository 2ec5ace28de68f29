"""Where the guest's own file sits on the studio's timeline (seconds to add to a guest time).

Coarse: the page says when its recorder started (page clock) and how its clock stands
against the studio's (from its reports over the control channel); the studio's sidecar says
when its file started. That is good to a few hundred milliseconds. Refined: the same voice
is in both files, so the guest's audio is cross-correlated against the studio's around the
coarse guess; the peak gives the offset to well under a frame. The picture's own offset
comes from sudden brightness changes seen in both pictures, else from matching how much
each picture moves frame to frame (a person talking): Chromium's recorder stamps its sound
about 30 ms later against its picture than the live stream does, so the two are kept apart
(and finalize.py moves one stream of the guest's file to close the gap).
Chrome's RTCP sender-report clock cannot be used: it was hours away from the page's clock.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import av
import numpy as np

log = logging.getLogger(__name__)

RATE = 16_000  # Hz: 0.06 ms per sample, plenty for 20 ms
WINDOW_S = 20.0  # of the guest's audio that is matched
# Either side of the coarse guess: the page's clock report is good to a few hundred ms, and
# an older studio sidecar has only the moment its file was opened (up to ~1.5 s late).
SEARCH_S = 3.0
MIN_PEAK_RATIO = 3.0  # peak against the typical correlation: below this the match is doubtful
# The picture's offset is looked for this close to the sound's: a recorder's skew is smaller.
PICTURE_SEARCH_S = 0.15
MOTION_STEP_S = 0.002
MIN_MOTION = 0.3  # spread of the frame-to-frame change (grey levels): below this, a still picture
MIN_MOTION_CORRELATION = 0.6


def studio_start_epoch(studio_file: Path) -> float | None:
    """When the studio file's time 0 was: by its media's timing where the sidecar has it,
    else when the file was opened."""
    try:
        side = json.loads(studio_file.with_suffix(".json").read_text(encoding="utf-8"))
        return datetime.fromisoformat(side.get("media_start_utc") or side["start_utc"]).timestamp()
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def guest_file_start_utc(studio_file: Path | None, studio_offset: dict) -> str | None:
    """The wall-clock instant of the guest file's time 0 (ISO), from the studio file's
    media start and the measured offset; None when either is unknown."""
    seconds = studio_offset.get("seconds")
    if studio_file is None or not isinstance(seconds, int | float):
        return None
    try:
        side = json.loads(studio_file.with_suffix(".json").read_text(encoding="utf-8"))
        start = datetime.fromisoformat(side["media_start_utc"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return (start + timedelta(seconds=seconds)).isoformat()


def coarse_offset(recorder_started_ms: float | None, page_minus_studio_ms: float | None,
                  studio_start: float | None) -> float | None:
    """Studio-file seconds at the guest file's start, from clocks alone (a studio file
    time is a guest file time plus this)."""
    if recorder_started_ms is None or page_minus_studio_ms is None or studio_start is None:
        return None
    return (recorder_started_ms - page_minus_studio_ms) / 1000.0 - studio_start


def mono_audio(path: Path, start_s: float = 0.0, seconds: float | None = None) -> tuple[float, np.ndarray]:
    """(file time of the first sample, mono float32 at RATE) of the first audio stream,
    from file time start_s on."""
    resampler = av.AudioResampler(format="flt", layout="mono", rate=RATE)
    chunks: list[np.ndarray] = []
    first: float | None = None
    begin = end = 0
    got = 0
    with av.open(str(path)) as container:
        if not container.streams.audio:
            return 0.0, np.zeros(0, np.float32)
        stream = container.streams.audio[0]
        try:
            for frame in container.decode(stream):
                if first is None:
                    first = float(frame.time or 0.0)
                    begin = max(0, round((start_s - first) * RATE))
                    end = None if seconds is None else begin + int(seconds * RATE)
                frame.pts = None  # samples follow on; the resampler need not look at times
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1))
                    got += chunks[-1].size
                if end is not None and got >= end:
                    break
        except (av.error.InvalidDataError, av.error.EOFError):
            pass  # a file cut short: what was decoded is enough
    samples = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
    return (first or 0.0) + begin / RATE, samples[begin:end]


def refine_offset(guest_file: Path, studio_file: Path, coarse: float) -> tuple[float, float] | None:
    """(offset, peak ratio) by cross-correlating audio around `coarse`; None if no audio."""
    guest_t0, guest = mono_audio(guest_file, 0.0, WINDOW_S)
    studio_t0, studio = mono_audio(studio_file, guest_t0 + coarse - SEARCH_S, WINDOW_S + 2 * SEARCH_S)
    if guest.size < RATE or studio.size < RATE or not np.any(guest) or not np.any(studio):
        return None
    size = 1 << int(np.ceil(np.log2(guest.size + studio.size)))
    # corr[k] = sum_i studio[i + k] * guest[i]: guest sample i matches studio sample i + k,
    # so a guest file time g sits at studio file time g + (studio_t0 - guest_t0) + k / RATE.
    corr = np.fft.irfft(np.fft.rfft(studio, size) * np.conj(np.fft.rfft(guest, size)), size)
    lags = np.arange(size)
    lags[lags > size // 2] -= size
    base = studio_t0 - guest_t0
    lo = int((coarse - SEARCH_S - base) * RATE)
    hi = int((coarse + SEARCH_S - base) * RATE)
    allowed = (lags >= lo) & (lags <= hi)
    if not np.any(allowed):
        return None
    scores = np.where(allowed, np.abs(corr), 0.0)
    best = int(np.argmax(scores))
    typical = float(np.median(np.abs(corr[allowed]))) or 1e-12
    return base + lags[best] / RATE, float(scores[best] / typical)


def _small_frames(path: Path, seconds: float) -> Iterator[tuple[float, np.ndarray]]:
    """(time, 64x36 grey picture) of every frame over the first seconds of the file's
    video; nothing when it has none. A damaged tail ends the frames early."""
    with av.open(str(path)) as container:
        if not container.streams.video:
            return
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        try:
            for frame in container.decode(stream):
                if frame.time is None:
                    continue
                if frame.time > seconds:
                    break
                small = frame.reformat(width=64, height=36, format="gray", threads=1)
                yield float(frame.time), small.to_ndarray()
        except (av.error.InvalidDataError, av.error.EOFError):
            return


def _luma_steps(path: Path, seconds: float) -> list[tuple[float, float]]:
    """(time, change of mean brightness from the previous frame) over the first seconds."""
    steps: list[tuple[float, float]] = []
    previous = None
    for time, small in _small_frames(path, seconds):
        level = float(small.mean())
        if previous is not None:
            steps.append((time, level - previous))
        previous = level
    return steps


def video_offset(guest_file: Path, studio_file: Path, audio_offset: float) -> tuple[float, int] | None:
    """(offset, events matched) from sudden brightness changes seen in both files near the
    audio's offset; None when the picture has too few of them. The browser's recorder and
    the live stream stamp audio and video differently, so this can differ from the audio."""
    guest = [(t, d) for t, d in _luma_steps(guest_file, WINDOW_S) if abs(d) > 20]
    studio = [(t, d) for t, d in _luma_steps(studio_file, WINDOW_S + audio_offset + SEARCH_S) if abs(d) > 20]
    found = []
    for t, step in guest:
        near = [(s, d) for s, d in studio
                if abs(s - t - audio_offset) <= PICTURE_SEARCH_S and d * step > 0]
        if near:
            s, _ = min(near, key=lambda e: abs(e[0] - t - audio_offset))
            found.append(s - t)
    if len(found) < 3:
        return None
    return float(np.median(found)), len(found)


def _motion(path: Path, seconds: float) -> tuple[np.ndarray, np.ndarray]:
    """(times, how much the picture changed from the frame before) over the first seconds."""
    times: list[float] = []
    energy: list[float] = []
    previous = None
    for time, grey in _small_frames(path, seconds):
        small = grey.astype(np.float32)
        if previous is not None:
            times.append(time)
            energy.append(float(np.abs(small - previous).mean()))
        previous = small
    return np.asarray(times), np.asarray(energy)


def motion_offset(guest_file: Path, studio_file: Path, audio_offset: float) -> tuple[float, float] | None:
    """(offset, correlation) of the picture from how much it moves frame to frame, matched
    between the two files within PICTURE_SEARCH_S of the sound's offset: for pictures with
    no sudden brightness changes (a person talking). None when there is too little motion
    or the match is weak."""
    g_t, g_e = _motion(guest_file, WINDOW_S)
    s_t, s_e = _motion(studio_file, WINDOW_S + audio_offset + SEARCH_S)
    if g_t.size < 30 or s_t.size < 30 or float(np.std(g_e)) < MIN_MOTION:
        return None
    grid = np.arange(g_t[0], g_t[-1], MOTION_STEP_S)
    guest = np.interp(grid, g_t, g_e)
    guest = (guest - guest.mean()) / (guest.std() or 1.0)
    best: tuple[float, float] | None = None
    for lag in np.arange(audio_offset - PICTURE_SEARCH_S, audio_offset + PICTURE_SEARCH_S, MOTION_STEP_S):
        inside = (grid + lag >= s_t[0]) & (grid + lag <= s_t[-1])
        if inside.mean() < 0.8:
            continue  # the studio file does not cover most of the guest's window here
        studio = np.interp(grid[inside] + lag, s_t, s_e)
        if studio.std() == 0:
            continue
        r = float(np.corrcoef(guest[inside], studio)[0, 1])
        if best is None or r > best[1]:
            best = (float(lag), r)
    if best is None or best[1] < MIN_MOTION_CORRELATION:
        return None
    return best


def picture_offset(guest_file: Path, studio_file: Path, audio_offset: float) -> dict:
    """The picture's own offset (`video_seconds` and how it was found): from sudden
    brightness changes, else from motion; {} when neither finds it."""
    for method, find in (("brightness changes", video_offset), ("motion", motion_offset)):
        try:
            found = find(guest_file, studio_file, audio_offset)
        except Exception as exc:  # noqa: BLE001 - the audio's offset still stands
            log.warning("matching %s's picture by %s failed: %s", guest_file.name, method, exc)
            continue
        if found is not None:
            measure = "video_events" if method == "brightness changes" else "video_correlation"
            return {"video_seconds": round(found[0], 4), "video_method": method,
                    measure: round(found[1], 3)}
    return {}


def align(guest_file: Path, studio_file: Path | None, recorder_started_ms: float | None,
          page_minus_studio_ms: float | None) -> dict:
    """The sidecar's `studio_offset` block: coarse, refined and how it was found."""
    if studio_file is None or not studio_file.exists():
        return {"method": None, "note": "no studio recording of this guest to align with"}
    coarse = coarse_offset(recorder_started_ms, page_minus_studio_ms, studio_start_epoch(studio_file))
    result: dict = {"studio_file": studio_file.name, "coarse_s": coarse, "method": "clocks"}
    if coarse is None:
        result.update(method=None, note="the page did not report its recorder's start")
        return result
    result["seconds"] = round(coarse, 4)
    try:
        refined = refine_offset(guest_file, studio_file, coarse)
    except Exception as exc:  # noqa: BLE001 - the coarse value still stands
        log.warning("aligning %s failed: %s", guest_file.name, exc)
        refined = None
    if refined is not None:
        seconds, ratio = refined
        result["peak_ratio"] = round(ratio, 1)
        if ratio >= MIN_PEAK_RATIO:
            result.update(seconds=round(seconds, 4), method="audio cross-correlation")
            picture = picture_offset(guest_file, studio_file, seconds)
            if picture:
                result.update(picture)
                # > 0: the guest file's sound comes later against its picture than the studio's.
                result["guest_av_skew_ms"] = round((picture["video_seconds"] - seconds) * 1000, 1)
        else:
            result["note"] = "audio match too weak; the clock estimate is kept"
    return result

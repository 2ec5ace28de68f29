"""The return feed with real aiortc guests over WHIP, the studio as the engine runs it.

Three guests with their own tones ask for a return (sendrecv), a fourth publishes only
(sendonly, as FFmpeg or OBS do), a fifth asks to hear but sends nothing, and a file
plays as the studio's sound. What each guest receives is decoded and its spectrum read:
everyone else and the studio are heard, never oneself; a guest who leaves is gone from
the others' mixes within a second; the recordings hold only their own guest. The
grid picture is encoded once, whatever the number of guests watching it.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import pytest

from guestrec.server.engine import Engine, EngineSettings
from obs_launcher.obs_config import free_port
from support.media_probe import stereo_s16
from support.return_guest import ReturnGuest
from support.serve_process import ROOT, ServeProcess
from support.synthetic import SolidVideoTrack, ToneAudioTrack
from support.tones import tone_levels, write_tone_wav

STUDIO_HZ = 2500.0
TALKERS = {"Anna": (300.0, 81), "Ben": (700.0, 145), "Cleo": (1500.0, 41)}  # tone, picture luma
PUBLISHER = ("Dan", 1100.0)  # sendonly
ALL_TONES = [hz for hz, _ in TALKERS.values()] + [PUBLISHER[1], STUDIO_HZ]
HEARD_DB = -35.0  # a voice in the mix is at least this loud (tones at 0.3 of full scale)
OWN_BELOW_DB = 40.0  # one's own voice at least this far below the others


def talker(engine: Engine, name: str, direction: str = "sendrecv") -> ReturnGuest:
    hz, luma = TALKERS.get(name, (PUBLISHER[1], 200))
    tracks = [ToneAudioTrack(frequency=hz), SolidVideoTrack(160, 120, fps=10, color=(luma, 128, 128))]
    return ReturnGuest(f"{engine.base_url}/whip/{name}", engine.token, tracks, direction=direction)


def assert_hears(levels: dict[float, float], heard: list[float], not_heard: list[float], who: str) -> None:
    loud = {hz: round(levels[hz], 1) for hz in levels}
    for hz in heard:
        assert levels[hz] > HEARD_DB, f"{who} should hear {hz} Hz: {loud}"
    for hz in not_heard:
        assert levels[hz] < min(levels[h] for h in heard) - OWN_BELOW_DB, f"{who} hears {hz} Hz: {loud}"


async def conversation(engine: Engine) -> dict:
    talkers = {name: talker(engine, name) for name in TALKERS}
    dan = talker(engine, PUBLISHER[0], direction="sendonly")
    quiet = ReturnGuest(f"{engine.base_url}/whip/Quiet", engine.token, [], kinds_without_track=("audio",))
    everyone = [*talkers.values(), dan, quiet]
    try:
        for guest in everyone:  # one at a time: the studio admits few connecting at once per address
            await guest.publish()
            await guest.wait_connected(15)
        await asyncio.sleep(2.0)
        window = (time.time(), time.time() + 3.0)
        await asyncio.sleep(3.0)
        status_before = engine.return_status()
        # A keyframe asked for by one guest reaches every guest watching.
        keyframes_before = {n: g.keyframes for n, g in talkers.items()}
        await talkers["Anna"].request_keyframe()
        await asyncio.sleep(1.0)
        keyframes_after = {n: g.keyframes for n, g in talkers.items()}
        status_after_pli = engine.return_status()
        # The studio's senders of the grid only packed what the shared encoder made.
        studio_senders = [(c.name, getattr(t.sender._RTCRtpSender__encoder, "codec", "none"))
                          for c in engine._studio.returns.connections
                          for t in c.pc.getTransceivers() if t.kind == "video" and t.sender.track]
        left_at = time.time()
        await talkers["Cleo"].close()
        await asyncio.sleep(2.2)
        status_after_leave = engine.return_status()
        return {
            "talkers": talkers, "dan": dan, "quiet": quiet, "window": window, "left_at": left_at,
            "status": status_before, "status_after_pli": status_after_pli,
            "status_after_leave": status_after_leave, "keyframes": (keyframes_before, keyframes_after),
            "studio_video_encoders": studio_senders,
        }
    finally:
        for guest in everyone:
            await guest.close()


@pytest.mark.slow
def test_guests_hear_each_other_and_the_studio_never_themselves(tmp_path: Path) -> None:
    studio_wav = tmp_path / "studio.wav"
    write_tone_wav(studio_wav, STUDIO_HZ, seconds=1.3)  # loops several times
    engine = Engine(EngineSettings(out_dir=tmp_path, port=free_port(), record="500",
                                   studio_audio=studio_wav, ice_servers="[]"))
    engine.start()
    try:
        got = asyncio.run(asyncio.wait_for(conversation(engine), 90))
    finally:
        engine.stop(timeout=20)
    talkers, dan, quiet = got["talkers"], got["dan"], got["quiet"]
    start, end = got["window"]

    # Each talker hears the others, the publisher and the studio; itself 40 dB below.
    for name, guest in talkers.items():
        own = TALKERS[name][0]
        levels = tone_levels(guest.audio_between(start, end), ALL_TONES)
        assert_hears(levels, [hz for hz in ALL_TONES if hz != own], [own], name)
        first_heard = guest.heard[0][0] - guest.connected_at
        assert first_heard < 1.0, f"{name}'s return started {first_heard:.2f} s after connecting"
    # A guest that sends nothing hears everyone.
    assert_hears(tone_levels(quiet.audio_between(start, end), ALL_TONES), ALL_TONES, [], "Quiet")
    # The publisher asked for nothing and got nothing: its answer is today's, recvonly.
    directions = [line for line in dan.answer_sdp.splitlines() if line in ("a=sendrecv", "a=sendonly")]
    assert directions == [] and dan.heard == [] and dan.seen == []

    # Cleo left: within a second nobody hears her any more (Ben still does hear Anna).
    after = tone_levels(talkers["Ben"].audio_between(got["left_at"] + 1.0), ALL_TONES)
    assert_hears(after, [300.0, PUBLISHER[1], STUDIO_HZ], [1500.0, 700.0], "Ben after Cleo left")
    assert "Cleo" not in got["status_after_leave"]["listeners"]
    assert "Cleo" not in got["status_after_leave"]["grid"]

    # Video: the grid at 640x360 reached every talker, from one encoder; aiortc encoded nothing.
    status = got["status"]
    assert status["video_encoders_opened"] == 1 and status["video_watchers"] == 3
    assert sorted(status["grid"]) == ["Anna", "Ben", "Cleo", "Dan"]
    for name, guest in talkers.items():
        sizes = {(w, h) for _, w, h in guest.seen}
        assert sizes == {(640, 360)}, (name, sizes)
        assert len(guest.seen) > 30, (name, len(guest.seen))  # 15 fps for the 5 s until then
    encoders = got["studio_video_encoders"]
    assert sorted(n for n, _ in encoders) == sorted(TALKERS) and all(c is None for _, c in encoders), encoders
    before, after_pli = got["keyframes"]
    assert got["status_after_pli"]["video_keyframes"] > status["video_keyframes"]
    for name in talkers:
        assert after_pli[name] > before[name], f"{name} got no keyframe after Anna's PLI"

    # Recordings hold their own guest only: nothing of the return.
    for name, hz in [*((n, t[0]) for n, t in TALKERS.items()), PUBLISHER]:
        files = list(tmp_path.glob(f"Session */{name} *.webm"))
        assert len(files) == 1, (name, sorted(p.name for p in tmp_path.rglob("*")))
        samples = stereo_s16(files[0])
        levels = tone_levels(samples[48000:48000 * 4], ALL_TONES)
        assert_hears(levels, [hz], [h for h in ALL_TONES if h != hz], f"{name}'s recording")


async def hear_one(server: ServeProcess, seconds: float = 3.0) -> ReturnGuest:
    guest = ReturnGuest(f"{server.base}/whip/Anna", server.token,
                        [ToneAudioTrack(frequency=300.0), SolidVideoTrack(160, 120, fps=10)])
    try:
        await guest.publish()
        await guest.wait_connected(15)
        await asyncio.sleep(seconds)
    finally:
        await guest.close()
    return guest


def test_serve_flags_choose_what_guests_get_back(tmp_path: Path) -> None:
    studio_wav = tmp_path / "studio.wav"
    write_tone_wav(studio_wav, STUDIO_HZ, seconds=1.0)
    # The studio's file and no picture: the guest hears the file, its video stays one-way.
    server = ServeProcess(tmp_path / "a", "--record", "-128", "--studio-audio", str(studio_wav),
                          "--return-video", "off")
    try:
        guest = asyncio.run(hear_one(server))
    finally:
        output = server.stop()
    assert f"Return feed: audio (the other guests and {studio_wav.name}, never themselves)" in output, \
        output.splitlines()
    levels = tone_levels(guest.audio_between(guest.connected_at + 1.0), [STUDIO_HZ, 300.0])
    assert levels[STUDIO_HZ] > HEARD_DB and levels[300.0] < levels[STUDIO_HZ] - OWN_BELOW_DB, levels
    assert guest.seen == []
    assert "a=sendrecv" in guest.answer_sdp.split("m=video")[0]
    assert "a=recvonly" in guest.answer_sdp.split("m=video")[1]

    # Return off: the answer is what a publisher gets, and nothing comes back.
    server = ServeProcess(tmp_path / "b", "--record", "-128",
                          "--return-audio", "off", "--return-video", "off")
    try:
        guest = asyncio.run(hear_one(server, seconds=1.5))
    finally:
        output = server.stop()
    assert "Return feed: off" in output
    assert guest.heard == [] and guest.seen == []
    assert "a=sendrecv" not in guest.answer_sdp and guest.answer_sdp.count("a=recvonly") == 2

    # A studio audio file that is not there is refused before the server starts.
    refused = subprocess.run(
        [sys.executable, "-m", "guestrec", "serve", "--port", str(free_port()), "--out", str(tmp_path / "c"),
         "--studio-audio", str(tmp_path / "missing.wav")],
        capture_output=True, text=True, timeout=60,
        env={"PYTHONPATH": str(ROOT / "lib"), "PATH": "/usr/bin:/bin"},
    )
    assert refused.returncode == 2 and "missing.wav is not a file" in refused.stderr, refused.stderr


async def hold_and_release(engine: Engine) -> dict:
    anna, ben = (talker(engine, name) for name in ("Anna", "Ben"))
    marks = {}
    try:
        for guest in (anna, ben):
            await guest.publish()
            await guest.wait_connected(15)
        await asyncio.sleep(2.0)
        marks["held"] = time.time()
        engine.hold_guest("Ben", True)
        await asyncio.sleep(2.0)
        marks["released"] = time.time()
        engine.hold_guest("Ben", False)
        await asyncio.sleep(2.0)
        marks["end"] = time.time()
        return {"anna": anna, "ben": ben, **marks}
    finally:
        for guest in (anna, ben):
            await guest.close()


def test_a_guest_on_hold_hears_nothing_and_is_not_heard(tmp_path: Path) -> None:
    engine = Engine(EngineSettings(out_dir=tmp_path, port=free_port(), record="-128", ice_servers="[]"))
    engine.start()
    try:
        got = asyncio.run(asyncio.wait_for(hold_and_release(engine), 60))
    finally:
        engine.stop(timeout=20)
    anna, ben = got["anna"], got["ben"]
    tones = [TALKERS["Anna"][0], TALKERS["Ben"][0]]
    on_hold = (got["held"] + 0.5, got["released"])
    ben_hears = tone_levels(ben.audio_between(*on_hold), tones)
    anna_hears = tone_levels(anna.audio_between(*on_hold), tones)
    assert max(ben_hears.values()) < -80 and max(anna_hears.values()) < -80, (ben_hears, anna_hears)
    back = (got["released"] + 0.5, got["end"])
    assert tone_levels(ben.audio_between(*back), tones)[TALKERS["Anna"][0]] > HEARD_DB
    assert tone_levels(anna.audio_between(*back), tones)[TALKERS["Ben"][0]] > HEARD_DB
    # Ben's picture of the others stopped while on hold, and came back with a keyframe.
    held_frames = [s for s in ben.seen if got["held"] + 0.5 <= s[0] < got["released"]]
    assert held_frames == [] and len([s for s in ben.seen if s[0] >= got["released"] + 0.5]) > 5

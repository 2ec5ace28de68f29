"""The return feed through the Janus SFU (`serve --sfu`): guests hear each other and the
studio through Janus's AudioBridge (a mix-minus per guest, made by Janus), see the
studio's grid published into the VideoRoom, and their recordings hold only themselves.
A publisher that only sends is heard through the studio's own participant. The
operator's hold moves a guest out of both and back."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from support.janus_rig import JanusRig, skip_without_janus
from support.media_probe import stereo_s16
from support.serve_process import ServeProcess
from support.sfu_files import recordings
from support.sfu_return_lines import SfuReturnLines, return_url
from support.synthetic import CounterVideoTrack, ToneAudioTrack
from support.tones import tone_levels, write_tone_wav
from support.whip_client import WhipClient, post_raw

TONES = {"Ann": 500.0, "Ben": 700.0, "Cal": 1100.0}
STUDIO_HZ = 1800.0
DAN_HZ = 1400.0  # a send-only publisher: recorded, heard through the studio, given no return
LISTEN_S = 12.0  # past AudioBridge's prebuffer and aioice's consent checks (5 s apart)
HOLD_S = 7.0  # on hold, then off again: each judged on its last 4 s


@pytest.fixture
def rig(tmp_path: Path):
    skip_without_janus()
    with JanusRig(tmp_path) as janus:
        yield janus



def sfu_server(rig: JanusRig, out: Path, *args: str) -> ServeProcess:
    return ServeProcess(out, "--codec", "copy", "--sfu", rig.sfu, "--sfu-room", str(rig.room),
                        "--sfu-secret", rig.api_secret, *args)


def test_guests_through_janus_hear_each_other_and_the_studio_never_themselves(
        rig: JanusRig, tmp_path: Path) -> None:
    studio_sound = tmp_path / "studio.wav"
    write_tone_wav(studio_sound, STUDIO_HZ, seconds=3.0, amplitude=0.2)
    out = tmp_path / "rec"
    server = sfu_server(rig, out, "--studio-audio", str(studio_sound))
    freqs = [*TONES.values(), STUDIO_HZ, DAN_HZ]

    async def show() -> tuple[dict[str, dict[float, float]], dict[str, list], tuple, str | None, dict]:
        guests, lines = {}, {}
        for name, hz in TONES.items():
            tracks = [ToneAudioTrack(hz, amplitude=0.2), CounterVideoTrack(320, 240, fps=15)]
            guest = WhipClient(f"{server.base}/whip/{name}", token=server.token, tracks=tracks)
            await guest.publish()
            guests[name] = guest
        dan = WhipClient(f"{server.base}/whip/Dan", token=server.token,
                         tracks=[ToneAudioTrack(DAN_HZ, amplitude=0.2), CounterVideoTrack(320, 240, fps=15)])
        await dan.publish()
        try:
            for name, guest in guests.items():
                await guest.wait_connected()
                # The page's microphone goes into the bridge too: the same tone.
                lines[name] = SfuReturnLines(guest, ToneAudioTrack(TONES[name], amplitude=0.2))
                await lines[name].open()
            publishers = (await rig.publishers(), await rig.publishers(every=True))
            started = time.time()
            await asyncio.sleep(LISTEN_S)
            levels = {name: tone_levels(line.audio_between(started + 4.0), freqs)
                      for name, line in lines.items()}
            seen = {name: list(line.seen) for name, line in lines.items()}
            # The operator holds Ann, then lets her back.
            hold: dict = {}
            for on in (True, False):
                status, body, _ = await post_raw(f"{server.base}/api/guests/Ann/hold", json.dumps({"on": on}),
                                                 {**server.operator(), "Content-Type": "application/json"})
                assert status == 200, (status, body)
                mark = time.time()
                await asyncio.sleep(HOLD_S)
                judged = mark + HOLD_S - 4.0
                hold[on] = {n: tone_levels(line.audio_between(judged), freqs) for n, line in lines.items()}
                hold[on]["Ann pictures"] = sum(1 for at, _, _ in lines["Ann"].seen if at >= judged)
            for line in lines.values():
                await line.close()
            return levels, seen, publishers, return_url(dan), hold
        finally:
            for guest in [*guests.values(), dan]:
                await guest.delete()
                await guest.close()

    try:
        levels, seen, publishers, dan_link, hold = asyncio.run(asyncio.wait_for(show(), 120))
    finally:
        output = server.stop()
    print("heard (dB):", {n: {f: round(v, 1) for f, v in lv.items()} for n, lv in levels.items()},
          "pictures:", {n: len(s) for n, s in seen.items()}, "Ann held:", hold[True]["Ann"],
          hold[True]["Ann pictures"], "back:", hold[False]["Ann"], hold[False]["Ann pictures"])
    # The studio's picture is no guest: nobody records it or lists it.
    guests, every = publishers
    assert sorted(guests) == ["Ann", "Ben", "Cal", "Dan"], publishers
    (picture,) = set(every) - set(guests)
    assert picture.startswith("guestrec return "), every
    assert dan_link is not None  # offered to every publisher; Dan just never asks
    for name, hz in TONES.items():
        heard = levels[name]
        others = [heard[TONES[o]] for o in TONES if o != name] + [heard[STUDIO_HZ]]
        assert min(others) > -40, (name, heard, output[-4000:])
        assert heard[hz] < min(others) - 40, (name, heard)  # never its own voice
        assert heard[DAN_HZ] > -40, (name, heard)  # Dan, not in the bridge, through the studio's sound
        frames = [(w, h) for at, w, h in seen[name]]
        assert len(frames) >= 5 * 8 and set(frames) == {(640, 360)}, (name, len(frames), set(frames))
    # On hold Ann hears nothing, nobody hears her and her picture stops; then all is back.
    ann = hold[True]["Ann"]
    assert max(ann.values()) < -60, ann
    assert hold[True]["Ann pictures"] <= 2, hold[True]["Ann pictures"]
    for name in ("Ben", "Cal"):
        heard = hold[True][name]
        assert heard[TONES["Ann"]] < heard[STUDIO_HZ] - 40, (name, heard)
    back = hold[False]["Ann"]
    assert min(back[TONES["Ben"]], back[TONES["Cal"]], back[STUDIO_HZ]) > -40, back
    assert back[TONES["Ann"]] < back[STUDIO_HZ] - 40, back
    assert hold[False]["Ben"][TONES["Ann"]] > -40, hold[False]["Ben"]
    assert hold[False]["Ann pictures"] >= 5 * 4, hold[False]["Ann pictures"]
    files = recordings(out)
    assert sorted(files) == ["Ann", "Ben", "Cal", "Dan"], files
    for name, hz in [*TONES.items(), ("Dan", DAN_HZ)]:
        (path,) = files[name]
        samples = stereo_s16(path)
        own = tone_levels(samples, freqs)
        # Each file holds its guest alone: nothing of the return reached it.
        assert all(own[f] < own[hz] - 40 for f in freqs if f != hz), (name, own)


def test_return_requests_are_refused_clearly(rig: JanusRig, tmp_path: Path) -> None:
    """Without a picture (return video off) the page is told so; a wrong token or session
    gets nothing; with the return off no return link is offered."""
    server = sfu_server(rig, tmp_path / "rec", "--return-video", "off")

    async def requests() -> dict[str, tuple[int, str]]:
        got = {}
        async with WhipClient(f"{server.base}/whip/Eve", token=server.token) as guest:
            await guest.publish()
            url = return_url(guest)
            assert url is not None
            auth = {"Authorization": f"Bearer {server.token}"}
            status, body, _ = await post_raw(url + "/video", None, auth)
            got["picture"] = (status, body.strip())
            status, body, _ = await post_raw(url + "/audio", "v=0", {"Authorization": "Bearer wrong",
                                                                     "Content-Type": "application/sdp"})
            got["wrong token"] = (status, body.strip())
            status, body, _ = await post_raw(url.replace("/session/", "/session/x") + "/audio", "v=0",
                                             {**auth, "Content-Type": "application/sdp"})
            got["no session"] = (status, body.strip())
            status, body, _ = await post_raw(url + "/audio", "v=0", {**auth, "Content-Type": "text/plain"})
            got["not sdp"] = (status, body.strip())
            await guest.delete()
        return got

    try:
        got = asyncio.run(asyncio.wait_for(requests(), 60))
    finally:
        server.stop()
    assert got["picture"] == (404, "the studio sends no picture"), got
    assert got["wrong token"][0] == 401 and got["no session"][0] == 404, got
    assert got["not sdp"][0] == 415, got

    off = sfu_server(rig, tmp_path / "rec2", "--return-audio", "off", "--return-video", "off")

    async def no_link() -> str | None:
        async with WhipClient(f"{off.base}/whip/Fay", token=off.token) as guest:
            await guest.publish()
            link = return_url(guest)
            await guest.delete()
        return link

    try:
        assert asyncio.run(asyncio.wait_for(no_link(), 60)) is None
    finally:
        off.stop()


def test_the_return_comes_back_after_janus_restarts(rig: JanusRig, tmp_path: Path) -> None:
    """Janus restarts (every connection lost): the studio joins its rooms again by itself,
    and a guest that joins again hears the studio and sees the picture."""
    studio_sound = tmp_path / "studio.wav"
    write_tone_wav(studio_sound, STUDIO_HZ, seconds=3.0, amplitude=0.2)
    server = sfu_server(rig, tmp_path / "rec", "--studio-audio", str(studio_sound))

    async def hear(name: str) -> tuple[dict[float, float], int]:
        tracks = [ToneAudioTrack(TONES["Ann"], amplitude=0.2), CounterVideoTrack(320, 240, fps=15)]
        guest = WhipClient(f"{server.base}/whip/{name}", token=server.token, tracks=tracks)
        for _ in range(100):  # the studio follows the room again within seconds
            try:
                await guest.publish()
                break
            except Exception:  # noqa: BLE001 - refused while Janus is away: try again
                await guest.close()
                guest = WhipClient(f"{server.base}/whip/{name}", token=server.token, tracks=tracks)
                await asyncio.sleep(0.2)
        await guest.wait_connected()
        lines = SfuReturnLines(guest, ToneAudioTrack(TONES["Ann"], amplitude=0.2))
        for _ in range(50):  # the studio's own participants may still be joining
            if await lines.open_sound() == 201:
                break
            await asyncio.sleep(0.2)
        assert await lines.open_picture() == 201
        start = time.time()
        await asyncio.sleep(6.0)
        heard = tone_levels(lines.audio_between(start + 2.0), [STUDIO_HZ, TONES["Ann"]])
        frames = len(lines.seen)
        await lines.close()
        await guest.delete()
        await guest.close()
        return heard, frames

    try:
        before = asyncio.run(asyncio.wait_for(hear("Ann"), 60))
        rig.restart()
        after = asyncio.run(asyncio.wait_for(hear("Ann"), 60))
    finally:
        output = server.stop()
    for heard, frames in (before, after):
        assert heard[STUDIO_HZ] > -40 and heard[TONES["Ann"]] < heard[STUDIO_HZ] - 40, (heard, output[-3000:])
        assert frames >= 15, frames

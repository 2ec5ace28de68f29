"""A Firefox ESR guest (our guest page, headless, driven over WebDriver BiDi) hears and
sees the studio's return, and is heard by the other guest, through a call longer than
the studio's and the page's liveness timeouts.

Firefox's fake microphone is a sine (1000 Hz unless `media.navigator.audio.fake_frequency`
says otherwise): here 1250 Hz, so a page that sent the default tone would not pass. An
aiortc guest (Carl, 700 Hz) joins the same studio (the engine, return feed on) and keeps
what it hears. Firefox keeps its default autoplay policy (audible media blocked without a
gesture): Join is pressed with a real mouse click through BiDi input, as a user does, and
that click is what lets the return's <audio> play, with no "Play the studio's sound"
button shown.

Read in the page, through its own `guestReturn.stats()` (the connection's inbound-rtp
statistics): the return's audio packets and the grid's decoded 640x360 frames keep
growing to the end; through an analyser on the page's return stream: Carl, never Firefox
itself. Carl hears Firefox's tone and not his own. The studio counts one connection for
Firefox's whole call, and Firefox's studio file holds its own tone with no Carl in it.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from guestrec.server.engine import Engine, EngineSettings
from obs_launcher.obs_config import free_port
from support.bidi import FIREFOX, Firefox, Page
from support.media_probe import stereo_s16
from support.return_guest import ReturnGuest
from support.return_listen import LISTEN_SETUP, levels_script
from support.synthetic import SolidVideoTrack, ToneAudioTrack
from support.tones import tone_levels

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not Path(FIREFOX).exists(), reason="needs Debian's firefox-esr"),
]

FOX_HZ = 1250.0  # Firefox's fake microphone, set by pref (its default is 1000 Hz)
CARL_HZ = 700.0
TONES = [FOX_HZ, CARL_HZ]
# Longer than the studio's consent watch (4 missed 1 s checks), the page's drop watch (4 s
# without a received byte) and a few of each: a liveness check that misjudged Firefox
# would have reconnected it by then.
CALL_S = 22.0
HEARD_DB = -35.0  # dB of int16 full scale: a tone in a mix or a file (tones near -23)
PAGE_HEARD_DB = -60.0  # WebAudio analyser dB: a tone in the mix; a missing one is near -100
OWN_BELOW_DB = 40.0

FIREFOX_PREFS = {
    "media.navigator.audio.fake_frequency": int(FOX_HZ),
    # Firefox's own default (bidi.py allows all autoplay): audible media waits for a gesture.
    "media.autoplay.default": 1,
    # A sound card that plays to nowhere, as a guest's speakers: with no audio device at all
    # an AudioContext never starts, and the page's sound would not be heard through one.
    "media.cubeb.force_mock_context": True,
}

PAGE_NOW = """(async () => {
  const audio = document.getElementById('return-audio');
  const video = document.getElementById('return-video');
  return JSON.stringify({
    stats: await window.guestReturn.stats(),
    audio: {paused: audio.paused, volume: audio.volume,
            track: audio.srcObject && audio.srcObject.getAudioTracks()[0].readyState},
    playButtonHidden: document.getElementById('return-play').hidden,
    video: {width: video.videoWidth, height: video.videoHeight},
    note: document.getElementById('return-note').textContent,
    state: window.guestState,
  });
})()"""
LEVELS = levels_script(TONES)


async def page_now(page: Page) -> dict:
    got = json.loads(await page.evaluate(PAGE_NOW))
    got["at"] = time.monotonic()
    return got


async def page_levels(page: Page) -> dict[float, float]:
    """Each tone's level in what the page plays: the loudest of six readings over 3 s."""
    readings = []
    for _ in range(6):
        readings.append(json.loads(await page.evaluate(LEVELS)))
        await asyncio.sleep(0.5)
    return {float(hz): max(r[hz] for r in readings) for hz in readings[0]}


async def call(engine: Engine, profile: Path) -> dict:
    carl = ReturnGuest(f"{engine.base_url}/whip/Carl", engine.token,
                       [ToneAudioTrack(frequency=CARL_HZ), SolidVideoTrack(160, 120, fps=10)])
    try:
        await carl.publish()
        await carl.wait_connected(15)
        async with Firefox(profile, prefs=FIREFOX_PREFS) as browser:
            page = await browser.open(f"{engine.base_url}/?name=Fox&token={engine.token}")
            await page.wait_for("window.guestState && window.guestState.media", 30)
            await page.click("#join")
            await page.wait_for("window.guestState.connected && window.guestState.returnAudio"
                                " && window.guestState.returnVideo", 30)
            await page.evaluate(LISTEN_SETUP)
            context_state = await page.wait_for(
                "window.returnListen.context.state === 'running' && window.returnListen.context.state", 10)
            readings = [await page_now(page)]
            call_started = time.time()
            for _ in range(2):
                await asyncio.sleep(CALL_S / 2)
                readings.append(await page_now(page))
            heard_by_page = await page_levels(page)
            call_ended = time.time()
            statuses = {row["name"]: row for row in engine.guests()}
            await page.evaluate("document.getElementById('hangup').click()")
            await page.wait_for("!window.guestState.joined", 15)
            return {"readings": readings, "heard_by_page": heard_by_page, "context": context_state,
                    "statuses": statuses, "console": browser.console[-10:],
                    "carl_heard": carl.audio_between(call_ended - 10, call_ended),
                    "call": (call_started, call_ended)}
    finally:
        await carl.close()


def assert_levels(levels: dict[float, float], loud: float, quiet: float, floor: float, who: str) -> None:
    shown = {hz: round(float(db), 1) for hz, db in levels.items()}
    assert levels[loud] > floor, f"{who} should hear {loud} Hz: {shown}"
    assert levels[quiet] < levels[loud] - OWN_BELOW_DB, f"{who} hears {quiet} Hz: {shown}"


def test_firefox_guest_hears_sees_and_is_heard_on_one_connection(tmp_path: Path) -> None:
    out = tmp_path / "out"
    # Studio recording only: Firefox's own recorder would load the 2 cores for nothing here.
    engine = Engine(EngineSettings(out_dir=out, port=free_port(), record="800", ice_servers="[]",
                                   record_at="studio"))
    engine.start()
    try:
        got = asyncio.run(asyncio.wait_for(call(engine, tmp_path / "firefox"), 150))
    finally:
        engine.stop(timeout=30)

    first, middle, last = got["readings"]
    print(f"\nfirefox return: {json.dumps(last['stats'])}; page hears "
          f"{ {hz: round(db, 1) for hz, db in got['heard_by_page'].items()} }")
    # (1) The return plays in Firefox all along: Opus at 50 packets a second and the grid's
    # frames keep coming in each half of the call. A loaded machine may ease the grid down
    # to 2 fps (video_easing.py); half of that is still "coming".
    for before, after in ((first, middle), (middle, last)):
        seconds = after["at"] - before["at"]
        audio_in = after["stats"]["audio"]["packetsReceived"] - before["stats"]["audio"]["packetsReceived"]
        frames_in = after["stats"]["video"]["framesDecoded"] - before["stats"]["video"]["framesDecoded"]
        assert audio_in > 15 * seconds, (audio_in, seconds, before["stats"], after["stats"])
        assert frames_in > 1.0 * seconds, (frames_in, seconds, before["stats"], after["stats"])
    assert (last["stats"]["video"]["frameWidth"], last["stats"]["video"]["frameHeight"]) == (640, 360), last
    assert last["video"] == {"width": 640, "height": 360}, last["video"]
    assert last["note"] == "", last["note"]  # the picture is up: no "Waiting…"
    # The real click on Join was the gesture: the sound plays, no button asked for.
    assert last["audio"] == {"paused": False, "volume": 1, "track": "live"}, last["audio"]
    assert last["playButtonHidden"] is True
    assert got["context"] == "running", got["context"]
    assert_levels(got["heard_by_page"], CARL_HZ, FOX_HZ, PAGE_HEARD_DB, "the Firefox page")

    # (2) Carl hears Firefox's microphone, never himself.
    carl_heard = got["carl_heard"]
    assert len(carl_heard) > 48000 * 8, len(carl_heard)
    carl_levels = tone_levels(carl_heard, TONES)
    print(f"Carl hears { {hz: round(db, 1) for hz, db in carl_levels.items()} }")
    assert_levels(carl_levels, FOX_HZ, CARL_HZ, HEARD_DB, "Carl")

    # (3) One connection for Firefox's whole call, on the studio's count and the page's.
    fox = got["statuses"]["Fox"]
    assert fox["connections"] == 1 and fox["connected"], fox
    assert last["state"]["reconnects"] == 0 and last["state"]["reconnectAttempts"] == 0, last["state"]
    # Its one studio file holds Firefox's tone and none of the return it played.
    files = sorted(out.glob("Session */Fox *.webm"))
    assert [f.name for f in files] == [Path(fox["file"]).name], files
    samples = stereo_s16(files[0])
    assert len(samples) > 48000 * (CALL_S - 4), len(samples)
    file_levels = tone_levels(samples[48000 * 2:48000 * int(CALL_S - 2)], TONES)
    print(f"Fox's studio file: {len(samples) / 48000:.1f} s, "
          f"{ {hz: round(db, 1) for hz, db in file_levels.items()} }")
    assert_levels(file_levels, FOX_HZ, CARL_HZ, HEARD_DB, "Fox's studio file")


def test_firefox_without_a_gesture_gets_the_play_button(tmp_path: Path) -> None:
    """A Join that was no user gesture (pressed from script here) leaves Firefox refusing
    the studio's sound: the page shows its "Play the studio's sound" button, and a real
    click on it starts the sound."""

    async def scenario(engine: Engine) -> tuple[dict, dict]:
        async with Firefox(tmp_path / "firefox", prefs=FIREFOX_PREFS) as browser:
            page = await browser.open(f"{engine.base_url}/?name=Fox&token={engine.token}")
            await page.wait_for("window.guestState && window.guestState.media", 30)
            await page.evaluate("document.getElementById('join').click()")
            await page.wait_for("window.guestState.connected && window.guestState.returnAudio", 30)
            await page.wait_for("!document.getElementById('return-play').hidden", 10)
            refused = await page_now(page)
            await page.click("#return-play")
            await page.wait_for("document.getElementById('return-play').hidden", 10)
            # Until it plays and more has come in (bounded: 10 s, past the fixed 2 s this was).
            for _ in range(100):
                played = await page_now(page)
                if (played["audio"] == {"paused": False, "volume": 1, "track": "live"}
                        and played["stats"]["audio"]["packetsReceived"]
                        > refused["stats"]["audio"]["packetsReceived"]):
                    break
                await asyncio.sleep(0.1)
            await page.evaluate("document.getElementById('hangup').click()")
            await page.wait_for("!window.guestState.joined", 15)
            return refused, played

    engine = Engine(EngineSettings(out_dir=tmp_path / "out", port=free_port(), record="800",
                                   ice_servers="[]", record_at="studio"))
    engine.start()
    try:
        refused, played = asyncio.run(asyncio.wait_for(scenario(engine), 90))
    finally:
        engine.stop(timeout=30)

    assert refused["audio"]["paused"] is True and refused["playButtonHidden"] is False, refused
    assert played["audio"] == {"paused": False, "volume": 1, "track": "live"}, played["audio"]
    assert played["playButtonHidden"] is True
    assert played["stats"]["audio"]["packetsReceived"] > refused["stats"]["audio"]["packetsReceived"], played

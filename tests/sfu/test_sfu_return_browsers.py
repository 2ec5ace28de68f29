"""Our guest page through the Janus SFU hears and sees the show, in headless Chromium and
Firefox ESR: the page publishes into the VideoRoom as before, then opens the return the
studio's answer names (its microphone into Janus's AudioBridge, the studio's picture
from the VideoRoom). An aiortc guest (Carl, 700 Hz, also through Janus) and the studio's
sound (1800 Hz from a file) are heard in the page; the page's own microphone (1250 Hz)
is not, and Carl hears it. The page's studio recording holds only the page's tone; when
the page leaves, its place in the AudioBridge room goes with it."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from guestrec.ingest.sfu.audiobridge import PLUGIN as BRIDGE_PLUGIN
from guestrec.ingest.sfu.janus_client import JanusSession
from support.bidi import FIREFOX, Firefox
from support.cdp import CHROMIUM, Chromium
from support.janus_rig import JanusRig, skip_without_janus
from support.media_probe import stereo_s16
from support.return_listen import LISTEN_SETUP, levels_script
from support.serve_process import ServeProcess
from support.sfu_files import recordings
from support.sfu_return_lines import SfuReturnLines
from support.synthetic import SolidVideoTrack, ToneAudioTrack
from support.tones import tone_levels, write_tone_wav
from support.whip_client import WhipClient

pytestmark = pytest.mark.browser

PAGE_HZ = 1250.0  # the page's fake microphone (a file for Chromium, a pref for Firefox)
CARL_HZ = 700.0
STUDIO_HZ = 1800.0
TONES = [PAGE_HZ, CARL_HZ, STUDIO_HZ]
# Longer than the page's drop watch (4 s without a byte), aioice's consent checks (5 s
# apart) and AudioBridge's prebuffer: a return connection that one of them cut would
# have stopped counting packets by the last reading.
CALL_S = 16.0
PAGE_HEARD_DB = -60.0  # WebAudio analyser dB: a tone in the mix; a missing one is near -100
HEARD_DB = -40.0  # int16 full-scale dB, for what aiortc decodes and for files
BELOW_DB = 40.0

PAGE_NOW = """(async () => {
  const video = document.getElementById('return-video');
  return JSON.stringify({
    stats: await window.guestReturn.stats(),
    video: {width: video.videoWidth, height: video.videoHeight},
    sfu: window.guestSfuReturn.state, state: window.guestState,
    note: document.getElementById('return-note').textContent,
  });
})()"""
LEVELS = levels_script(TONES)


@pytest.fixture
def rig(tmp_path: Path):
    skip_without_janus()
    with JanusRig(tmp_path) as janus:
        yield janus


async def bridge_displays(rig: JanusRig) -> list[str]:
    session = JanusSession(rig.url, rig.api_secret)
    await session.open()
    try:
        handle = await session.attach(BRIDGE_PLUGIN)
        data, _ = await handle.request({"request": "listparticipants", "room": rig.room})
        return sorted(str(p.get("display")) for p in data.get("participants", []))
    finally:
        await session.close()


def open_browser(kind: str, folder: Path):
    if kind == "chromium":
        mic = folder / "mic.wav"
        write_tone_wav(mic, PAGE_HZ, seconds=3.0)  # whole cycles: Chromium loops the file
        return Chromium(folder / "chromium", extra_flags=[
            "--use-fake-device-for-media-stream=fps=15", f"--use-file-for-fake-audio-capture={mic}"])
    return Firefox(folder / "firefox", prefs={"media.navigator.audio.fake_frequency": int(PAGE_HZ),
                                              "media.cubeb.force_mock_context": True})


def page_console(page) -> list[str]:
    """The page's last console lines (Chromium's Page keeps them; Firefox's browser does)."""
    lines = getattr(page, "console", None) or getattr(getattr(page, "browser", None), "console", None) or []
    return list(lines)[-10:]


async def page_levels(page) -> dict[float, float]:
    """Each tone's level in what the page plays: the loudest of six readings over 3 s."""
    readings = []
    for _ in range(6):
        readings.append(json.loads(await page.evaluate(LEVELS)))
        await asyncio.sleep(0.5)
    return {float(hz): max(r[hz] for r in readings) for hz in readings[0]}


async def call(kind: str, server: ServeProcess, rig: JanusRig, folder: Path) -> dict:
    carl = WhipClient(f"{server.base}/whip/Carl", token=server.token,
                      tracks=[ToneAudioTrack(CARL_HZ, amplitude=0.2), SolidVideoTrack(160, 120, fps=10)])
    await carl.publish()
    await carl.wait_connected()
    lines = SfuReturnLines(carl, ToneAudioTrack(CARL_HZ, amplitude=0.2))
    try:
        await lines.open()
        async with open_browser(kind, folder) as browser:
            page = await browser.open(f"{server.base}/?name=Pia&token={server.token}")
            try:
                await page.wait_for("window.guestState && window.guestState.media", 40)
            except TimeoutError as exc:  # what the page said about its camera and microphone
                state = await page.evaluate("JSON.stringify(window.guestState || null)")
                raise AssertionError(f"{exc}; page state {state}; console {page_console(page)}") from None
            await page.evaluate("document.getElementById('join').click()")
            await page.wait_for("window.guestState.connected && window.guestState.returnAudio"
                                " && window.guestState.returnVideo", 40)
            await page.wait_for("document.getElementById('return-video').videoWidth > 0", 20)
            await page.evaluate(LISTEN_SETUP)
            readings = [json.loads(await page.evaluate(PAGE_NOW)) | {"at": time.monotonic()}]
            for _ in range(2):
                await asyncio.sleep(CALL_S / 2)
                readings.append(json.loads(await page.evaluate(PAGE_NOW)) | {"at": time.monotonic()})
            heard_by_page = await page_levels(page)
            ended = time.time()
            in_bridge = await bridge_displays(rig)
            await page.evaluate("document.getElementById('hangup').click()")
            await page.wait_for("!window.guestState.joined", 15)
            await asyncio.sleep(1.0)
            after_leaving = await bridge_displays(rig)
        carl_heard = tone_levels(lines.audio_between(ended - 8, ended), TONES)
        return {"readings": readings, "heard_by_page": heard_by_page, "in_bridge": in_bridge,
                "after_leaving": after_leaving, "carl_heard": carl_heard}
    finally:
        await lines.close()
        await carl.delete()
        await carl.close()


@pytest.mark.parametrize("kind", ["chromium", "firefox"])
def test_guest_page_through_janus_hears_and_sees_the_show(kind: str, rig: JanusRig, tmp_path: Path) -> None:
    if not Path(CHROMIUM if kind == "chromium" else FIREFOX).exists():
        pytest.skip(f"needs Debian's {kind}")
    studio_sound = tmp_path / "studio.wav"
    write_tone_wav(studio_sound, STUDIO_HZ, seconds=3.0, amplitude=0.2)
    out = tmp_path / "rec"
    server = ServeProcess(out, "--codec", "copy", "--sfu", rig.sfu, "--sfu-room", str(rig.room),
                          "--sfu-secret", rig.api_secret, "--studio-audio", str(studio_sound))
    try:
        got = asyncio.run(asyncio.wait_for(call(kind, server, rig, tmp_path), 150))
    finally:
        output = server.stop()
    first, middle, last = got["readings"]
    print(f"\n{kind} through Janus: {json.dumps(last['stats'])}; page hears "
          f"{ {hz: round(db, 1) for hz, db in got['heard_by_page'].items()} }; Carl hears "
          f"{ {hz: round(db, 1) for hz, db in got['carl_heard'].items()} }")
    assert last["sfu"]["audio"] == "on" and last["sfu"]["video"] == "on", (last["sfu"], output[-3000:])
    # The return flows all along: Opus at 50 packets a second, the grid's frames.
    for before, after in ((first, middle), (middle, last)):
        seconds = after["at"] - before["at"]
        audio_in = after["stats"]["audio"]["packetsReceived"] - before["stats"]["audio"]["packetsReceived"]
        frames_in = after["stats"]["video"]["framesDecoded"] - before["stats"]["video"]["framesDecoded"]
        assert audio_in > 15 * seconds, (audio_in, seconds, before["stats"], after["stats"])
        assert frames_in > 1.0 * seconds, (frames_in, seconds, before["stats"], after["stats"])
    assert last["video"] == {"width": 640, "height": 360}, last["video"]
    assert last["state"]["reconnects"] == 0, last["state"]
    # The page hears Carl and the studio, never itself; Carl hears the page.
    page_heard = got["heard_by_page"]
    assert min(page_heard[CARL_HZ], page_heard[STUDIO_HZ]) > PAGE_HEARD_DB, page_heard
    assert page_heard[PAGE_HZ] < min(page_heard[CARL_HZ], page_heard[STUDIO_HZ]) - BELOW_DB, page_heard
    carl_heard = got["carl_heard"]
    assert carl_heard[PAGE_HZ] > HEARD_DB and carl_heard[CARL_HZ] < carl_heard[PAGE_HZ] - BELOW_DB, carl_heard
    # In the bridge while in the call; gone once it left.
    assert got["in_bridge"] == ["Carl", "Pia", "guestrec studio"], got["in_bridge"]
    assert got["after_leaving"] == ["Carl", "guestrec studio"], got["after_leaving"]
    # The page's studio file holds the page alone.
    (path,) = recordings(out)["Pia"]
    levels = tone_levels(stereo_s16(path)[48000 * 2:], TONES)
    assert levels[PAGE_HZ] > HEARD_DB, levels
    assert max(levels[CARL_HZ], levels[STUDIO_HZ]) < levels[PAGE_HZ] - BELOW_DB, levels

"""Our guest page hears and sees the studio's return, in real headless Chromium.

Two pages (each its own Chromium, its microphone a tone from a file: Ann 1500 Hz, Bea
2200 Hz) and an aiortc publisher (Carl, 700 Hz) join the real studio (the engine, return
feed on). Each page offers sendrecv, plays the studio's sound in its <audio> element and
shows the studio's picture beside its own camera. Read in each page: the inbound RTP
statistics of its connection, the size of its return <video>, and what its <audio>
element plays (WebAudio analyser): the others, never itself. Bea says she uses
headphones: her microphone opens without echo cancellation, Ann's (on speakers) with
it. The studio's recordings still hold only their own guest.

After a drop (the guest's UDP cut in a network rig) and the page's own rejoin, the
return plays again on the new connection, and the headphones choice is kept.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from guestrec.server.engine import Engine, EngineSettings
from obs_launcher.obs_config import free_port
from support.cdp import CHROMIUM, Chromium, Page
from support.link_rig import STUDIO_ADDR, LinkRig, NetnsLoop
from support.media_probe import stereo_s16
from support.return_listen import LISTEN_SETUP, levels_script
from support.synthetic import SolidVideoTrack, ToneAudioTrack
from support.tones import tone_levels, write_tone_wav
from support.whip_client import WhipClient

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium"),
]

PAGES = {"Ann": 1500.0, "Bea": 2200.0}
CARL_HZ = 700.0
ALL_TONES = [*PAGES.values(), CARL_HZ]
CALL_S = 12.0  # longer than the page's drop watch (4 s of silence) and the studio's timeouts
HEARD_DB = -60.0  # WebAudio analyser dB: a tone in the mix; a missing one is near -100
OWN_BELOW_DB = 40.0
NOTE_BEFORE = "The studio's picture appears here when you join."

LEVELS = levels_script(ALL_TONES)
LISTEN = """(async () => {
  const audio = document.getElementById('return-audio');
  const video = document.getElementById('return-video');
  const box = video.getBoundingClientRect();
  const mic = document.getElementById('preview').srcObject.getAudioTracks()[0].getSettings();
  return JSON.stringify({
    stats: await window.guestReturn.stats(),
    video: {width: video.videoWidth, height: video.videoHeight, box: [box.width, box.height]},
    audio: {paused: audio.paused, volume: audio.volume,
            track: audio.srcObject && audio.srcObject.getAudioTracks()[0].readyState},
    echoCancellation: mic.echoCancellation,
    state: window.guestState,
    note: document.getElementById('return-note').textContent,
  });
})()"""


async def listen(page: Page) -> dict:
    """What the page plays and shows; each tone's level the loudest of a few readings over
    3 s (a busy machine's studio may pause its mix for a moment)."""
    readings = []
    for _ in range(6):
        readings.append(json.loads(await page.evaluate(LEVELS)))
        await asyncio.sleep(0.5)
    got = json.loads(await page.evaluate(LISTEN))
    got["levels"] = {hz: max(r[hz] for r in readings) for hz in readings[0]}
    return got


async def listen_until(page: Page, ready, timeout: float) -> dict:
    """`listen` again until `ready(got)` is true or `timeout` has passed; the last reading
    either way (the test's assertions then say what is wrong)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        got = await listen(page)
        if ready(got) or asyncio.get_running_loop().time() > deadline:
            return got


def page_flags(mic: Path) -> list[str]:
    return ["--use-fake-device-for-media-stream=fps=15", f"--use-file-for-fake-audio-capture={mic}"]


def mic_files(folder: Path) -> dict[str, Path]:
    files = {}
    for name, hz in PAGES.items():
        files[name] = folder / f"{name}.wav"
        write_tone_wav(files[name], hz, seconds=3.0)  # whole cycles: Chromium loops the file
    return files


async def join(page: Page, headphones: bool) -> None:
    await page.wait_for("window.guestState && window.guestState.media", 40)
    if headphones:
        await page.evaluate("document.getElementById('headphones').click()")
        # The microphone opens again, without echo cancellation.
        await page.wait_for("document.getElementById('preview').srcObject.getAudioTracks()[0]"
                            ".getSettings().echoCancellation === false", 15)
    await page.evaluate("document.getElementById('join').click()")
    await page.wait_for("window.guestState.connected && window.guestState.returnAudio", 30)
    await page.evaluate(LISTEN_SETUP)


def carl(base: str, token: str, ssl: bool = True) -> WhipClient:
    return WhipClient(f"{base}/whip/Carl", token=token, ssl=ssl,
                      tracks=[ToneAudioTrack(frequency=CARL_HZ), SolidVideoTrack(160, 120, fps=10)])


def passes(check, *args) -> bool:
    """Whether an assert_* check passes (to wait for it; a reading still without some
    figure does not)."""
    try:
        check(*args)
    except (AssertionError, KeyError, TypeError):
        return False
    return True


def assert_hears(levels: dict, heard: list[float], not_heard: list[float], who: str) -> None:
    loud = {float(hz): round(float(db), 1) for hz, db in levels.items()}
    for hz in heard:
        assert loud[hz] > HEARD_DB, f"{who} should hear {hz} Hz: {loud}"
    for hz in not_heard:
        assert loud[hz] < min(loud[h] for h in heard) - OWN_BELOW_DB, f"{who} hears {hz} Hz: {loud}"


def assert_plays_the_return(got: dict, name: str, seconds: float) -> None:
    stats, video, audio = got["stats"], got["video"], got["audio"]
    # Flowing all along, with room for a machine busy with two browsers and the studio
    # (Opus comes in 50 packets a second, the grid at up to 15 frames).
    assert stats["audio"]["packetsReceived"] > 15 * seconds, (name, stats)
    assert stats["audio"]["samplesReceived"] > 48000 * (seconds - 2), (name, stats)
    assert stats["video"]["framesDecoded"] > 1.5 * seconds, (name, stats)
    assert (stats["video"]["frameWidth"], stats["video"]["frameHeight"]) == (640, 360), (name, stats)
    assert video["width"] == 640 and video["box"][0] > 100 and video["box"][1] > 50, (name, video)
    assert audio == {"paused": False, "volume": 1, "track": "live"}, (name, audio)
    assert got["note"] == "", (name, got["note"])  # the picture is up: no "Waiting…"
    others = [hz for who, hz in PAGES.items() if who != name] + [CARL_HZ]
    assert_hears(got["levels"], others, [PAGES[name]], name)


async def call(engine: Engine, profiles: Path, mics: dict[str, Path]) -> tuple[dict, dict]:
    publisher = carl(engine.base_url, engine.token)
    browsers: list[Chromium] = []
    pages: dict[str, Page] = {}
    try:
        await publisher.publish()
        await publisher.wait_connected(15)
        for name in PAGES:
            browser = Chromium(profiles / name, extra_flags=page_flags(mics[name]))
            await browser.__aenter__()
            browsers.append(browser)
            pages[name] = await browser.open(f"{engine.base_url}/?name={name}&token={engine.token}")
        for name, page in pages.items():
            await join(page, headphones=name == "Bea")
        await asyncio.sleep(CALL_S)
        # Both pages at once: each listen reads its own page for 3 s.
        heard = await asyncio.gather(*(listen(page) for page in pages.values()))
        got = dict(zip(pages, heard, strict=True))
        status = engine.return_status()
        for page in pages.values():
            await page.evaluate("document.getElementById('hangup').click()")
            await page.wait_for("!window.guestState.joined", 15)
        got_after = {name: json.loads(await page.evaluate(
            "JSON.stringify({audio: !!document.getElementById('return-audio').srcObject,"
            " note: document.getElementById('return-note').textContent})")) for name, page in pages.items()}
        return got, {"status": status, "after": got_after}
    finally:
        for browser in browsers:
            await browser.__aexit__(None, None, None)
        await publisher.close()


@pytest.mark.slow
def test_two_guest_pages_hear_and_see_the_return_and_record_only_themselves(tmp_path: Path) -> None:
    mics = mic_files(tmp_path)
    out = tmp_path / "out"
    engine = Engine(EngineSettings(out_dir=out, port=free_port(), record="800", ice_servers="[]"))
    engine.start()
    try:
        got, extra = asyncio.run(asyncio.wait_for(call(engine, tmp_path / "profiles", mics), 180))
    finally:
        engine.stop(timeout=30)

    for name in PAGES:
        print(f"\n{name}: {json.dumps(got[name]['stats'])} levels "
              f"{ {k: round(v, 1) for k, v in got[name]['levels'].items()} }")
        assert_plays_the_return(got[name], name, CALL_S)
    # On speakers the browser cancels echo; with headphones the voice stays raw.
    assert got["Ann"]["echoCancellation"] is True and got["Ann"]["state"]["headphones"] is False
    assert got["Bea"]["echoCancellation"] is False and got["Bea"]["state"]["headphones"] is True
    assert sorted(extra["status"]["listeners"]) == ["Ann", "Bea"]
    # Hung up: nothing plays any more, the picture's place says so.
    for name in PAGES:
        assert extra["after"][name] == {"audio": False, "note": NOTE_BEFORE}

    # The recordings hold their own guest only, none of the return they played.
    for name, hz in [*PAGES.items(), ("Carl", CARL_HZ)]:
        # The studio's file (the page's own recording, uploaded beside it, is .guest.webm).
        (file,) = [f for f in out.glob(f"Session */{name} *.webm") if not f.name.endswith(".guest.webm")]
        samples = stereo_s16(file)
        assert len(samples) > 48000 * (CALL_S - 2), (name, len(samples))
        levels = tone_levels(samples[48000 * 2:48000 * 10], ALL_TONES)  # dB of int16 full scale
        loud = {h: round(db, 1) for h, db in levels.items()}
        assert levels[hz] > -35, (name, loud)
        assert all(levels[h] < levels[hz] - OWN_BELOW_DB for h in ALL_TONES if h != hz), (name, loud)


@pytest.mark.slow
@pytest.mark.skipif(LinkRig.available() is not None, reason=str(LinkRig.available()))
def test_the_return_plays_again_after_a_drop_and_rejoin(tmp_path: Path) -> None:
    mic = mic_files(tmp_path)["Ann"]
    with LinkRig("retplay") as rig:
        studio, home = NetnsLoop(rig.studio, "rig-studio"), NetnsLoop(rig.guest, "rig-guest")
        # Away from loopback the studio speaks https, with a certificate of its own making.
        engine = Engine(EngineSettings(out_dir=tmp_path / "out", host=STUDIO_ADDR, port=free_port(),
                                       record="-128", ice_servers="[]", tls_dir=tmp_path / "tls"))
        publisher = browser = None

        async def in_studio(fn):
            return fn()  # threads started here (the engine's) live in the studio's namespace

        try:
            studio.call(in_studio(engine.start), 30)
            # Made on the studio's loop, which it runs on (aiortc takes the current loop).
            publisher = studio.call(in_studio(lambda: carl(engine.base_url, engine.token, ssl=False)), 30)
            studio.call(publisher.publish(), 30)
            studio.call(publisher.wait_connected(15), 20)
            browser = Chromium(tmp_path / "profile", extra_flags=[
                *page_flags(mic), "--ignore-certificate-errors"])
            home.call(browser.__aenter__(), 30)
            page = home.call(browser.open(f"{engine.base_url}/?name=Ann&token={engine.token}"), 30)
            home.call(join(page, headphones=True), 120)
            # Read until Carl is heard, for as long as the fixed wait this replaces (4 s).
            before = home.call(listen_until(page, lambda got: passes(
                assert_hears, got["levels"], [CARL_HZ], [PAGES["Ann"]], "Ann before the drop"), 4.0), 30)

            rig.block_udp()
            home.call(page.wait_for("window.guestState.reconnecting", 12), 15)
            during = json.loads(home.call(page.evaluate(
                "JSON.stringify({audio: !!document.getElementById('return-audio').srcObject,"
                " note: document.getElementById('return-note').textContent})")))
            time.sleep(3)
            rig.unblock_udp()
            home.call(page.wait_for("window.guestState.reconnects === 1 && window.guestState.connected"
                                    " && window.guestState.returnAudio", 60), 65)
            home.call(page.evaluate(LISTEN_SETUP))  # the new connection's stream
            # Read until the return plays again, for as long as the fixed wait this replaces (5 s).
            after = home.call(listen_until(page, lambda got: passes(assert_back, got), 5.0), 30)
            home.call(page.evaluate("document.getElementById('hangup').click()"))
            home.call(page.wait_for("!window.guestState.joined", 15), 20)
        finally:
            if browser is not None:
                home.call(browser.__aexit__(None, None, None), 30)
            if publisher is not None:
                studio.call(publisher.close(), 30)
            studio.call(in_studio(lambda: engine.stop(timeout=30)), 60)
            home.close()
            studio.close()

    assert_hears(before["levels"], [CARL_HZ], [PAGES["Ann"]], "Ann before the drop")
    assert during == {"audio": False, "note": "Reconnecting…"}
    print(f"\nafter the rejoin: {json.dumps(after['stats'])}")
    assert_back(after)


def assert_back(after: dict) -> None:
    """The return plays again on the page's new connection, with the headphones kept."""
    # The counters are the new connection's: all of it came after the rejoin.
    stats = after["stats"]
    assert stats["audio"]["packetsReceived"] > 15 * 4 and stats["video"]["framesDecoded"] > 1.5 * 4, stats
    assert after["video"]["width"] == 640, after["video"]
    assert after["audio"] == {"paused": False, "volume": 1, "track": "live"}, after["audio"]
    assert_hears(after["levels"], [CARL_HZ], [PAGES["Ann"]], "Ann after the rejoin")
    assert after["state"]["reconnects"] == 1 and after["note"] == ""  # the new picture is up
    # The headphones choice lives on: the same raw microphone on the new connection.
    assert after["state"]["headphones"] is True and after["echoCancellation"] is False

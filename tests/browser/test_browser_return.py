"""The return feed in a real browser: headless Chromium joins over WHIP with sendrecv
sections, beside an aiortc guest, and must decode what the studio sends back.

Chromium's microphone is a 1500 Hz tone from a file, the aiortc guest hums 700 Hz. Read in
the page (WebAudio analyser on the received track, getStats): Chromium hears 700 Hz and
not its own 1500 Hz, decodes the studio's Opus without concealment and the grid's VP8 at
640x360. The aiortc guest hears Chromium's tone and not its own.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from guestrec.server.engine import Engine, EngineSettings
from obs_launcher.obs_config import free_port
from support.cdp import CHROMIUM, Chromium
from support.return_guest import ReturnGuest
from support.synthetic import SolidVideoTrack, ToneAudioTrack
from support.tones import tone_levels, write_tone_wav

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium"),
]

BROWSER_HZ, GUEST_HZ = 1500.0, 700.0

JOIN = """
(async () => {
  const stream = await navigator.mediaDevices.getUserMedia({
    audio: {echoCancellation: false, noiseSuppression: false, autoGainControl: false},
    video: {width: 320, height: 240},
  });
  const pc = new RTCPeerConnection();
  for (const track of stream.getTracks()) {
    pc.addTransceiver(track, {direction: "sendrecv", streams: [stream]});
  }
  pc.ontrack = (event) => {
    if (event.track.kind !== "audio") return;
    const received = new MediaStream([event.track]);
    const element = new Audio();  // Chromium feeds WebAudio from a remote track only if it plays
    element.srcObject = received;
    element.muted = true;
    element.play();
    const context = new AudioContext({sampleRate: 48000});
    const analyser = context.createAnalyser();
    analyser.fftSize = 16384;
    analyser.smoothingTimeConstant = 0.9;
    context.createMediaStreamSource(received).connect(analyser);
    window.returnAudio = {context, analyser, element};
  };
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((done) => {
    if (pc.iceGatheringState === "complete") return done();
    pc.onicegatheringstatechange = () => pc.iceGatheringState === "complete" && done();
  });
  const response = await fetch("/whip/Chromium", {
    method: "POST", body: pc.localDescription.sdp,
    headers: {"Content-Type": "application/sdp", "Authorization": "Bearer TOKEN"},
  });
  const answer = await response.text();
  await pc.setRemoteDescription({type: "answer", sdp: answer});
  window.returnPc = pc;
  return response.status;
})()
"""

LISTEN = """
(async () => {
  const {analyser, context} = window.returnAudio;
  const spectrum = new Float32Array(analyser.frequencyBinCount);
  analyser.getFloatFrequencyData(spectrum);
  const level = (hz) => {
    const bin = Math.round(hz * analyser.fftSize / context.sampleRate);
    return Math.max(...spectrum.slice(bin - 2, bin + 3));
  };
  const stats = {};
  (await window.returnPc.getStats()).forEach((report) => {
    if (report.type === "inbound-rtp") stats[report.kind] = report;
  });
  return JSON.stringify({
    browser_hz: level(BROWSER_HZ), guest_hz: level(GUEST_HZ),
    audio: stats.audio, video: stats.video,
  });
})()
""".replace("BROWSER_HZ", str(BROWSER_HZ)).replace("GUEST_HZ", str(GUEST_HZ))


async def conversation(engine: Engine, profile: Path, mic: Path) -> tuple[dict, ReturnGuest, float, dict]:
    guest = ReturnGuest(f"{engine.base_url}/whip/Anna", engine.token,
                        [ToneAudioTrack(frequency=GUEST_HZ), SolidVideoTrack(160, 120, fps=10)])
    flags = ["--use-fake-device-for-media-stream=fps=15", f"--use-file-for-fake-audio-capture={mic}"]
    try:
        await guest.publish()
        await guest.wait_connected(15)
        async with Chromium(profile, extra_flags=flags) as browser:
            page = await browser.open(f"{engine.base_url}/no-page-here")  # the studio's origin
            status = await page.evaluate(JOIN.replace("TOKEN", engine.token), timeout=30)
            assert status == 201, page.console[-10:]
            await page.wait_for("window.returnAudio && window.returnPc.connectionState === 'connected'", 20)
            await asyncio.sleep(2.0)
            since = time.time()
            await asyncio.sleep(4.0)
            heard = json.loads(await page.evaluate(LISTEN))
            status = engine.return_status()
        return heard, guest, since, status
    finally:
        await guest.close()


@pytest.mark.slow
def test_chromium_hears_and_sees_the_return(tmp_path: Path) -> None:
    mic = tmp_path / "mic.wav"
    write_tone_wav(mic, BROWSER_HZ, seconds=3.0)
    engine = Engine(EngineSettings(out_dir=tmp_path / "out", port=free_port(), record="-128",
                                   ice_servers="[]"))
    engine.start()
    try:
        heard, guest, since, status = asyncio.run(asyncio.wait_for(
            conversation(engine, tmp_path / "profile", mic), 120))
    finally:
        engine.stop(timeout=20)

    # Chromium hears the other guest, not itself (analyser dB; a missing tone is near -100).
    assert heard["guest_hz"] > -60, heard
    assert heard["browser_hz"] < heard["guest_hz"] - 40, heard
    audio, video = heard["audio"], heard["video"]
    assert audio["totalSamplesReceived"] > 48000 * 4
    assert audio["concealedSamples"] < 0.05 * audio["totalSamplesReceived"], audio
    shown = {k: video.get(k) for k in ("framesReceived", "framesDecoded", "framesDropped", "keyFramesDecoded",
                                       "packetsLost", "nackCount", "pliCount", "freezeCount")}
    assert video["framesDecoded"] >= 10 and video["keyFramesDecoded"] >= 1, (shown, status)
    assert (video["frameWidth"], video["frameHeight"]) == (640, 360), video
    assert status["video_encoders_opened"] == 1 and sorted(status["listeners"]) == ["Anna", "Chromium"]

    # The aiortc guest hears Chromium's microphone through the studio, not itself.
    levels = tone_levels(guest.audio_between(since, since + 4.0), [BROWSER_HZ, GUEST_HZ])
    assert levels[BROWSER_HZ] > -35 and levels[GUEST_HZ] < levels[BROWSER_HZ] - 40, levels

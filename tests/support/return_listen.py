"""Listening to the return a guest page plays, from the page itself: an analyser on the
stream of the page's <audio> element, and the level of chosen tones in it (dB)."""

from __future__ import annotations

import json

# Chromium feeds WebAudio from a remote track only while an element plays it (the page's
# does); Firefox starts an AudioContext suspended on a page the user never touched, so it is
# resumed (after the Join click).
LISTEN_SETUP = """(() => {
  const stream = document.getElementById('return-audio').srcObject;
  const context = new AudioContext({sampleRate: 48000});
  const analyser = context.createAnalyser();
  analyser.fftSize = 16384;
  analyser.smoothingTimeConstant = 0.9;
  context.createMediaStreamSource(stream).connect(analyser);
  context.resume();
  window.returnListen = {context, analyser};
  return true;
})()"""


def levels_script(tones: list[float]) -> str:
    """A page expression giving JSON {hz: dB} of each tone in the return (-200: silence)."""
    return """(() => {
  const {analyser, context} = window.returnListen;
  const spectrum = new Float32Array(analyser.frequencyBinCount);
  analyser.getFloatFrequencyData(spectrum);
  const level = (hz) => {
    const bin = Math.round(hz * analyser.fftSize / context.sampleRate);
    const db = Math.max(...spectrum.slice(bin - 2, bin + 3));
    return Number.isFinite(db) ? db : -200;  // digital silence reads -Infinity
  };
  return JSON.stringify(Object.fromEntries(TONES.map((hz) => [hz, level(hz)])));
})()""".replace("TONES", json.dumps(tones))

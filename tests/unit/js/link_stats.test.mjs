// Liveness and camera frames from statistics reports shaped as Chromium's and Firefox's,
// and the drop watch on a Firefox-shaped peer (no byte counts on its transport).
import { test } from "node:test";
import assert from "node:assert/strict";

import { cameraSource, receivedProgress, selectedPairs } from "../../../lib/guestrec/guest_page/link_stats.js";
import { cameraFrames } from "../../../lib/guestrec/guest_page/recording_media.js";
import { watchDrop } from "../../../lib/guestrec/guest_page/reconnect.js";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const report = (...stats) => new Map(stats.map((s) => [s.id, s]));

// A sending guest's report as Chromium gives it: bytes on the transport.
function chromiumReport(received, frames) {
  return report(
    { id: "T01", type: "transport", bytesReceived: received, bytesSent: 90000, dtlsState: "connected",
      selectedCandidatePairId: "CPa" },
    { id: "CPa", type: "candidate-pair", state: "succeeded", nominated: true, bytesReceived: received, bytesSent: 90000 },
    { id: "CPb", type: "candidate-pair", state: "failed", nominated: false, bytesReceived: 0 },
    { id: "SV2", type: "media-source", kind: "video", trackIdentifier: "cam-1", frames: frames, framesPerSecond: 30 },
    { id: "SA1", type: "media-source", kind: "audio", trackIdentifier: "mic-1", audioLevel: 0.1 },
    { id: "OT01V", type: "outbound-rtp", kind: "video", framesEncoded: frames - 3, bytesSent: 80000 },
    { id: "RI01V", type: "remote-inbound-rtp", kind: "video", packetsLost: 0, roundTripTimeMeasurements: 7 },
  );
}

// The same as Firefox ESR 153 gives it: the transport names the selected pair but counts
// nothing; the pair counts bytes and is flagged selected; the video source counts frames.
// Options make older or sparser shapes: no pair named, no flag, no media-source stats.
function firefoxReport(received, frames, { pairFlag = "named", mediaSource = true } = {}) {
  const pair = { id: "2ee337f", type: "candidate-pair", state: "succeeded", bytesReceived: received, bytesSent: 70000,
    nominated: true, readable: true };
  if (pairFlag !== "none") pair.selected = true;
  const stats = [
    { id: "bc1b7229", type: "transport", dtlsState: "connected", iceState: "connected", dtlsRole: "server",
      selectedCandidatePairId: pairFlag === "named" ? "2ee337f" : undefined },
    pair,
    { id: "9f00e1", type: "candidate-pair", state: "succeeded", nominated: false, selected: false, bytesReceived: 12 },
    { id: "3815f387", type: "outbound-rtp", kind: "video", framesEncoded: frames - 3, framesSent: frames - 3, bytesSent: 60000 },
    { id: "1466a22c", type: "remote-inbound-rtp", kind: "video", packetsReceived: 400, packetsLost: 1,
      roundTripTimeMeasurements: 3 },
    { id: "mediasource_audio_0{ea5d}", type: "media-source", kind: "audio", trackIdentifier: "{ea5d}" },
  ];
  if (mediaSource) {
    stats.push({ id: "mediasource_video_1{bbdd}", type: "media-source", kind: "video", trackIdentifier: "{bbdd}",
      frames: frames, framesPerSecond: 31 });
  }
  return report(...stats);
}

test("Chromium: the transport's bytes; the camera's frames from its media source", () => {
  assert.deepEqual(receivedProgress(chromiumReport(5000, 300)), { source: "transport", value: 5000 });
  assert.deepEqual(selectedPairs(chromiumReport(5000, 300)).map((p) => p.id), ["CPa"]);
  assert.deepEqual(cameraSource(chromiumReport(5000, 300)), { frames: 300, fps: 30 });
  assert.deepEqual(cameraSource(chromiumReport(5000, 300), "cam-1"), { frames: 300, fps: 30 });
});

test("Firefox: the selected candidate pair's bytes, however it is marked; frames from its source", () => {
  assert.deepEqual(receivedProgress(firefoxReport(4321, 10)), { source: "candidate-pair", value: 4321 });
  assert.deepEqual(selectedPairs(firefoxReport(4321, 10)).map((p) => p.id), ["2ee337f"]);
  assert.deepEqual(receivedProgress(firefoxReport(4321, 10, { pairFlag: "selected" })), { source: "candidate-pair", value: 4321 });
  // Neither named nor flagged selected: the nominated pair that works.
  assert.deepEqual(receivedProgress(firefoxReport(99, 10, { pairFlag: "none" })), { source: "candidate-pair", value: 99 });
  assert.deepEqual(cameraSource(firefoxReport(4321, 250)), { frames: 250, fps: 31 });
  assert.deepEqual(cameraSource(firefoxReport(4321, 250), "{bbdd}"), { frames: 250, fps: 31 });
  // No media source: the encoder's frames stand in (this report gives no rate for them).
  assert.deepEqual(cameraSource(firefoxReport(4321, 250, { mediaSource: false })), { frames: 247, fps: 0 });
});

test("without transport or pair counts, the RTP stats; with nothing, no verdict", () => {
  const rtpOnly = report(
    { id: "i", type: "inbound-rtp", kind: "audio", bytesReceived: 700 },
    { id: "r", type: "remote-inbound-rtp", kind: "video", packetsReceived: 50, packetsLost: 2 },
    { id: "p", type: "candidate-pair", state: "in-progress", nominated: false, bytesReceived: 5 },
  );
  assert.deepEqual(receivedProgress(rtpOnly), { source: "rtp", value: 752 });
  // Chromium's receiver reports move the round-trip measurements.
  const a = receivedProgress(report({ id: "r", type: "remote-inbound-rtp", roundTripTimeMeasurements: 3, packetsLost: 0 }));
  const b = receivedProgress(report({ id: "r", type: "remote-inbound-rtp", roundTripTimeMeasurements: 4, packetsLost: 0 }));
  assert.equal(a.source, "rtp");
  assert.ok(b.value > a.value);
  assert.deepEqual(receivedProgress(report({ id: "t", type: "transport", dtlsState: "connected" })), { source: null, value: 0 });
  assert.deepEqual(receivedProgress(new Map()), { source: null, value: 0 });
  assert.deepEqual(receivedProgress(null), { source: null, value: 0 });
  // Arrays (an iterable, not a map) read the same.
  assert.equal(receivedProgress([{ id: "t", type: "transport", bytesReceived: 8 }]).value, 8);
  assert.equal(cameraSource(report({ id: "a", type: "outbound-rtp", kind: "audio", packetsSent: 5 })), null);
});

test("the recording's frame count: the track's own, else a report's carried to the moment, else none", () => {
  const reading = { frames: 250, fps: 30, at: 1000 };
  assert.equal(cameraFrames({ stats: { deliveredFrames: 42 } }, reading, 2000), 42);
  assert.equal(cameraFrames({ kind: "video" }, reading, 1000), 250); // Firefox: no track.stats
  assert.equal(cameraFrames({ kind: "video" }, reading, 3000), 310); // two seconds on at 30 fps
  assert.equal(cameraFrames({ kind: "video" }, reading, 500), 235); // a reading after the moment
  assert.equal(cameraFrames({ kind: "video" }, { frames: 9, fps: 0, at: 0 }, 5000), 9);
  assert.equal(cameraFrames({ kind: "video" }, undefined, 1000), null);
  assert.equal(cameraFrames(null, reading, 1000), null); // no video recorded: no count
});

// A peer as watchDrop sees it, reporting as Firefox does.
class FirefoxPeer extends EventTarget {
  constructor() {
    super();
    this.connectionState = "connected";
    this.received = 0;
    this.counting = true; // false: a report with no counter at all
  }
  async getStats() {
    if (!this.counting) return report({ id: "{tr}", type: "transport", dtlsState: "connected" });
    return firefoxReport(this.received, 1);
  }
}

const FAST = { dropAfterMs: 60, silenceMs: 80, statsEveryMs: 20 };

test("a Firefox link that keeps receiving is not dropped; one that goes quiet is", async () => {
  const peer = new FirefoxPeer();
  const drops = [];
  const feed = setInterval(() => { peer.received += 100; }, 10);
  const stop = watchDrop(peer, (why) => drops.push(why), FAST);
  await sleep(300);
  assert.deepEqual(drops, [], "bytes on the selected pair are life");
  clearInterval(feed);
  await sleep(250);
  assert.deepEqual(drops, ["silent"]);
  stop();
});

test("a report with no counter never counts as silence", async () => {
  const peer = new FirefoxPeer();
  peer.counting = false;
  const drops = [];
  const stop = watchDrop(peer, (why) => drops.push(why), FAST);
  await sleep(300);
  stop();
  assert.deepEqual(drops, []);
});

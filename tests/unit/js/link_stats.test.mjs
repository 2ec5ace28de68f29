// Liveness and camera frames from statistics reports shaped as Chromium's and Firefox's,
// and the drop watch on a Firefox-shaped peer (no byte counts on its transport).
import { test } from "node:test";
import assert from "node:assert/strict";

import { receivedProgress, selectedPairs, sourceFrames } from "../../../lib/guestrec/guest_page/link_stats.js";
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

// The same as Firefox gives it: the transport names the pair but counts nothing; no
// media-source stats; Firefox's pair ids in braces.
function firefoxReport(received, encoded, { pairFlag = "selected" } = {}) {
  const pair = { id: "{a1}", type: "candidate-pair", state: "succeeded", bytesReceived: received, bytesSent: 70000,
    nominated: true };
  if (pairFlag === "selected") pair.selected = true;
  return report(
    { id: "{tr}", type: "transport", dtlsState: "connected", iceState: "connected",
      selectedCandidatePairId: pairFlag === "named" ? "{a1}" : undefined },
    pair,
    { id: "{b2}", type: "candidate-pair", state: "succeeded", nominated: false, selected: false, bytesReceived: 12 },
    { id: "{ov}", type: "outbound-rtp", kind: "video", framesEncoded: encoded, bytesSent: 60000 },
    { id: "{ri}", type: "remote-inbound-rtp", kind: "video", packetsReceived: 400, packetsLost: 1 },
  );
}

test("Chromium: the transport's bytes; the camera's frames from its media source", () => {
  assert.deepEqual(receivedProgress(chromiumReport(5000, 300)), { source: "transport", value: 5000 });
  assert.deepEqual(selectedPairs(chromiumReport(5000, 300)).map((p) => p.id), ["CPa"]);
  assert.equal(sourceFrames(chromiumReport(5000, 300)), 300);
  assert.equal(sourceFrames(chromiumReport(5000, 300), "cam-1"), 300);
});

test("Firefox: the selected candidate pair's bytes, however it is marked", () => {
  assert.deepEqual(receivedProgress(firefoxReport(4321, 10)), { source: "candidate-pair", value: 4321 });
  assert.deepEqual(receivedProgress(firefoxReport(4321, 10, { pairFlag: "named" })), { source: "candidate-pair", value: 4321 });
  // Neither named nor flagged selected: the nominated pair that works.
  assert.deepEqual(receivedProgress(firefoxReport(99, 10, { pairFlag: "none" })), { source: "candidate-pair", value: 99 });
  // No media source: the encoder's frames stand in.
  assert.equal(sourceFrames(firefoxReport(4321, 250)), 250);
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
  assert.equal(sourceFrames(report({ id: "a", type: "outbound-rtp", kind: "audio", packetsSent: 5 })), null);
});

test("the recording's frame count: the track's own, else the report's, else none", () => {
  assert.equal(cameraFrames({ stats: { deliveredFrames: 42 } }, 7), 42);
  assert.equal(cameraFrames({ kind: "video" }, 250), 250); // Firefox: no track.stats
  assert.equal(cameraFrames({ kind: "video" }, undefined), null);
  assert.equal(cameraFrames(null, 0), 0);
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

// The guest page's pure helpers: connection quality, the bitrate the studio asks for,
// what is asked of camera and microphone, the level meter, and the guest recording's
// bookkeeping.
import { test } from "node:test";
import assert from "node:assert/strict";

import { rateQuality, sentAndLost, setVideoBitrate, watch, withMaxBitrate } from "../../../lib/guestrec/guest_page/quality.js";
import { constraints, friendly, heldLevel } from "../../../lib/guestrec/guest_page/devices.js";
import { cameraFrames, readLive } from "../../../lib/guestrec/guest_page/recording_media.js";
import { nextRetryMs, nextUpload, pickMime } from "../../../lib/guestrec/guest_page/guest_recorder.js";

const report = (...stats) => new Map(stats.map((s, i) => [String(i), s]));

test("sent and lost packets and the longest round trip, from a stats report", () => {
  const r = report(
    { type: "outbound-rtp", kind: "audio", packetsSent: 100 }, { type: "outbound-rtp", kind: "video", packetsSent: 900 },
    { type: "remote-inbound-rtp", packetsLost: 4, roundTripTime: 0.05 },
    { type: "remote-inbound-rtp", packetsLost: -1, roundTripTime: 0.12 }, { type: "transport", bytesReceived: 5 },
  );
  assert.deepEqual(sentAndLost(r), { sent: 1000, lost: 4, rttMs: 120 });
  assert.deepEqual(sentAndLost(report()), { sent: 0, lost: 0, rttMs: null });
});

test("quality: loss over the last period and the round trip decide the level", () => {
  const at = (sent, lost, rttMs = 50) => ({ sent, lost, rttMs });
  assert.deepEqual(rateQuality(null, at(1000, 300)), { level: "good", text: "Connection: good", lossPercent: 0, rttMs: 50 });
  assert.equal(rateQuality(at(0, 0), at(990, 10)).level, "good"); // 1 % exactly
  assert.deepEqual(rateQuality(at(0, 0), at(980, 20)), { level: "fair", text: "Connection: fair", lossPercent: 2, rttMs: 50 });
  assert.equal(rateQuality(at(0, 0), at(940, 60)).level, "poor");
  assert.equal(rateQuality(at(1000, 500), at(2000, 500)).level, "good"); // old loss does not count
  assert.equal(rateQuality(at(0, 0), at(100, 0, 250)).level, "fair");
  assert.equal(rateQuality(at(0, 0), at(100, 0, 401)).level, "poor");
  assert.equal(rateQuality(at(0, 0), at(100, 0, null)).level, "good");
  assert.equal(rateQuality(at(0, 0), at(0, 0)).lossPercent, 0);
  assert.equal(rateQuality(at(0, 0), at(997, 3)).lossPercent, 0.3);
});

test("quality is reported while connected only", async () => {
  const peer = { connectionState: "connecting", sent: 0, getStats: async () => report({ type: "outbound-rtp", packetsSent: peer.sent += 50 }) };
  const seen = [];
  const stop = watch(peer, (q) => seen.push(q), 15);
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(seen.length, 0);
  peer.connectionState = "connected";
  await new Promise((r) => setTimeout(r, 80));
  stop();
  const n = seen.length;
  assert.ok(n >= 2 && seen.every((q) => q.level === "good"), JSON.stringify(seen));
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(seen.length, n);
});

test("the studio's bitrate caps the first video encoding", async () => {
  assert.deepEqual(withMaxBitrate({ encodings: [] }, 2500), { encodings: [{ maxBitrate: 2500000 }] });
  const params = { transactionId: "t", encodings: [{ rid: "a", active: true }, { rid: "b" }] };
  assert.equal(withMaxBitrate(params, 800), params); // the browser wants its own object back
  assert.deepEqual(params.encodings, [{ rid: "a", active: true, maxBitrate: 800000 }, { rid: "b" }]);
  const set = [];
  const sender = (kind, fails) => ({
    track: kind && { kind }, getParameters: () => ({ encodings: [{}] }),
    setParameters: async (p) => { if (fails) throw new Error("refused"); set.push([kind, p.encodings[0].maxBitrate]); },
  });
  await setVideoBitrate({ getSenders: () => [sender("audio"), sender(null), sender("video"), sender("video", true)] }, 1200);
  assert.deepEqual(set, [["video", 1200000]]);
});

test("camera and microphone: raw sound, 720p30, the chosen devices", () => {
  const c = constraints("cam-2", "mic-3", { headphones: true });
  assert.equal(c.audio.echoCancellation, false);
  assert.equal(c.audio.noiseSuppression, false);
  assert.equal(c.audio.autoGainControl, false);
  assert.deepEqual(c.audio.deviceId, { exact: "mic-3" });
  assert.deepEqual(c.video.deviceId, { exact: "cam-2" });
  assert.deepEqual(c.video.height, { ideal: 720 });
  const d = constraints();
  assert.equal("deviceId" in d.audio || "deviceId" in d.video, false);
  // On speakers (the default) the studio's sound would come back in: echo cancellation
  // only; the rest of the voice processing stays off.
  assert.equal(d.audio.echoCancellation, true);
  assert.equal(d.audio.noiseSuppression || d.audio.autoGainControl, false);
  assert.equal(constraints("cam-2", "mic-3", { headphones: false }).audio.echoCancellation, true);
  assert.match(friendly({ name: "NotAllowedError" }), /refused/);
  assert.match(friendly({ name: "NotReadableError" }), /busy in another program/);
  assert.match(friendly({ name: "Odd", message: "why" }), /: why$/);
});

test("the level meter holds a peak and falls back slowly", () => {
  const beep = new Float32Array([0, -0.6, 0.3]);
  const quiet = new Float32Array(8);
  let level = heldLevel(beep, 0);
  assert.equal(level, 0.6000000238418579);
  level = heldLevel(quiet, level);
  assert.ok(level > 0.45 && level < 0.6);
  for (let i = 0; i < 60; i++) level = heldLevel(quiet, level);
  assert.equal(level, 0);
  assert.equal(heldLevel(new Float32Array([3]), 0), 1);
});

test("the live stream's state for the guest's recording", () => {
  const quiet = readLive(report(
    { type: "outbound-rtp", kind: "video", frameWidth: 1280, frameHeight: 720, bytesSent: 99, framesPerSecond: 30,
      qualityLimitationReason: "none" },
    { type: "remote-inbound-rtp", fractionLost: 0.01, roundTripTime: 0.05 }));
  assert.deepEqual(quiet, { limited: false, live: { width: 1280, height: 720, limitation: "none", bytesSent: 99, fps: 30 } });
  assert.equal(readLive(report({ type: "outbound-rtp", kind: "audio", qualityLimitationReason: "bandwidth" })).limited, true);
  assert.equal(readLive(report({ type: "remote-inbound-rtp", fractionLost: 0.2 })).limited, true);
  assert.equal(readLive(report({ type: "remote-inbound-rtp", roundTripTime: 0.5 })).limited, true);
  assert.equal(readLive(report()).live, null);
  assert.equal(cameraFrames({ stats: { deliveredFrames: 42 } }), 42);
  assert.equal(cameraFrames({}), null);
  assert.equal(cameraFrames(null), null);
});

test("the guest recording: its type, its retry pauses, which upload goes next", () => {
  assert.equal(pickMime(["video/x-matroska", "video/webm"], (t) => t === "video/webm"), "video/webm");
  assert.equal(pickMime(["audio/ogg"], () => false), null);
  assert.equal(pickMime(undefined, () => true), null);
  const pauses = [0];
  for (let i = 0; i < 8; i++) pauses.push(nextRetryMs(pauses.at(-1)));
  assert.deepEqual(pauses.slice(1), [500, 1000, 2000, 4000, 8000, 15000, 15000, 15000]);
  const up = (id, o) => Object.assign({ id, startedMs: 0, acked: 0, stored: 0, stopped: false, refused: null, finished: false }, o);
  const list = [
    up("new", { startedMs: 300, stored: 10 }), up("done", { startedMs: 100, stored: 5, acked: 5 }),
    up("refused", { startedMs: 50, stored: 9, refused: "410" }), up("older", { startedMs: 200, stored: 4, acked: 4, stopped: true }),
    up("finished", { startedMs: 10, stopped: true, finished: true }),
  ];
  assert.equal(nextUpload(list).id, "older"); // stopped: its finish goes first, being older
  assert.equal(nextUpload(list.filter((u) => u.id !== "older")).id, "new");
  assert.equal(nextUpload([list[1], list[2], list[4]]), null);
});

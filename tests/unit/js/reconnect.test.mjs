// Coming back after a drop: the back-off, the resume secrets, the drop watch and the
// rejoin loop, with stand-in peers (the browser's RTCPeerConnection is not in Node).
import { test } from "node:test";
import assert from "node:assert/strict";

import {
  ResumeStore, TIMING, backoffDelay, rejoin, waitConnected, watchDrop,
} from "../../../lib/guestrec/guest_page/reconnect.js";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// sessionStorage's interface over a Map.
class MemoryStorage {
  constructor() { this.map = new Map(); }
  getItem(k) { return this.map.has(k) ? this.map.get(k) : null; }
  setItem(k, v) { this.map.set(k, String(v)); }
}

// A peer as watchDrop and rejoin see it: a connection state with its event, and stats.
class StandInPeer extends EventTarget {
  constructor(state = "connected") {
    super();
    this.connectionState = state;
    this.bytes = 0;
    this.closed = false;
  }
  become(state) {
    this.connectionState = state;
    this.dispatchEvent(new Event("connectionstatechange"));
  }
  async getStats() { return new Map([["t", { type: "transport", bytesReceived: this.bytes }]]); }
  close() { this.closed = true; this.connectionState = "closed"; }
}

test("back-off grows to its last step and stays there", () => {
  assert.deepEqual([0, 1, 2, 3, 4, 5, 9, 100].map((a) => backoffDelay(a)), [500, 1000, 2000, 4000, 8000, 8000, 8000, 8000]);
  assert.equal(backoffDelay(-1), 500);
  assert.equal(backoffDelay(1, [5, 7]), 7);
  assert.equal(TIMING.giveUpMs, 120000);
  // The steps add up to well within the time the page keeps trying.
  assert.ok(TIMING.backoffMs.reduce((a, b) => a + b) < TIMING.giveUpMs / 4);
});

test("resume secrets are kept per typed name and forgotten on purpose", () => {
  const storage = new MemoryStorage();
  const store = new ResumeStore(storage);
  assert.equal(store.get("Eve"), null);
  store.put("Eve", "Eve 2", "s3cret");
  store.put("Bob", "Bob", "other");
  assert.deepEqual(new ResumeStore(storage).get("Eve"), { name: "Eve 2", secret: "s3cret" }); // a reload
  store.drop("Eve");
  assert.equal(store.get("Eve"), null);
  assert.deepEqual(store.get("Bob"), { name: "Bob", secret: "other" });
  storage.setItem("guestrec.resume", "{not json");
  assert.deepEqual(store.all(), {});
  const full = new ResumeStore({ getItem: () => null, setItem: () => { throw new Error("quota"); } });
  full.put("Eve", "Eve", "x"); // private mode: nothing kept, nothing thrown
  assert.equal(full.get("Eve"), null);
});

const FAST = { dropAfterMs: 60, silenceMs: 80, statsEveryMs: 20 };

test("a failed connection is a drop at once, reported once", async () => {
  const peer = new StandInPeer();
  const drops = [];
  watchDrop(peer, (why) => drops.push(why), FAST);
  peer.bytes = 10;
  peer.become("failed");
  peer.become("failed");
  await sleep(150);
  assert.deepEqual(drops, ["failed"]);
});

test("a short blip heals; a long one is a drop", async () => {
  const peer = new StandInPeer();
  const drops = [];
  const timer = setInterval(() => { peer.bytes += 100; }, 10); // media keeps arriving
  try {
    const stop = watchDrop(peer, (why) => drops.push(why), FAST);
    peer.become("disconnected");
    await sleep(25);
    peer.become("connected");
    await sleep(120);
    assert.deepEqual(drops, []);
    peer.become("disconnected");
    await sleep(120);
    assert.deepEqual(drops, ["disconnected"]);
    stop();
  } finally {
    clearInterval(timer);
  }
});

test("a connection that receives nothing is taken as dropped before the browser says so", async () => {
  const peer = new StandInPeer();
  const drops = [];
  peer.bytes = 5000;
  watchDrop(peer, (why) => drops.push(why), FAST);
  await sleep(250);
  assert.deepEqual(drops, ["silent"]);
  assert.equal(peer.connectionState, "connected");
});

test("a stopped watch reports nothing", async () => {
  const peer = new StandInPeer();
  const drops = [];
  const stop = watchDrop(peer, (why) => drops.push(why), FAST);
  stop();
  peer.become("failed");
  await sleep(200);
  assert.deepEqual(drops, []);
});

test("waitConnected: connected, failed or out of time", async () => {
  const peer = new StandInPeer("connecting");
  setTimeout(() => { peer.connectionState = "connected"; }, 50);
  assert.equal(await waitConnected(peer, 2000), true);
  const bad = new StandInPeer("connecting");
  setTimeout(() => { bad.connectionState = "failed"; }, 50);
  assert.equal(await waitConnected(bad, 2000), false);
  const started = performance.now();
  assert.equal(await waitConnected(new StandInPeer("connecting"), 150), false);
  assert.ok(performance.now() - started < 1000);
});

const QUICK = { backoffMs: [10, 20, 40], attemptTimeoutMs: 150, giveUpMs: 5000 };

test("rejoin tries again after an unreachable studio and a try that never connects", async () => {
  const tries = [];
  const discarded = [];
  const peer = await rejoin({
    timing: QUICK,
    wanted: () => true,
    discard: (p) => discarded.push(p),
    attempt: async () => {
      tries.push(performance.now());
      if (tries.length === 1) throw new Error("The studio cannot be reached.");
      const p = new StandInPeer("connecting");
      if (tries.length === 3) setTimeout(() => { p.connectionState = "connected"; }, 30);
      return p;
    },
  });
  assert.equal(tries.length, 3);
  assert.equal(peer.connectionState, "connected");
  assert.equal(discarded.length, 1); // the second try, which stayed "connecting"
  assert.ok(tries[1] - tries[0] >= 18, "the pause grows between tries");
});

test("rejoin stops at once when the studio refuses for good", async () => {
  let tries = 0;
  const refused = Object.assign(new Error("This link does not let you in"), { final: true });
  await assert.rejects(rejoin({
    timing: QUICK, wanted: () => true, discard: () => {},
    attempt: async () => { tries += 1; throw refused; },
  }), refused);
  assert.equal(tries, 1);
});

test("rejoin gives up when time is out, and stops quietly when the guest left", async () => {
  let tries = 0;
  const gaveUp = await rejoin({
    timing: { backoffMs: [20], attemptTimeoutMs: 50, giveUpMs: 100 }, wanted: () => true, discard: () => {},
    attempt: async () => { tries += 1; throw new Error("busy"); },
  });
  assert.equal(gaveUp, null);
  assert.ok(tries >= 2 && tries <= 6, String(tries));

  let wanted = true;
  const discarded = [];
  const left = await rejoin({
    timing: QUICK, wanted: () => wanted, discard: (p) => discarded.push(p),
    attempt: async () => { wanted = false; return new StandInPeer("connected"); },
  });
  assert.equal(left, null);
  assert.equal(discarded.length, 1); // the try that came back after the guest left
});

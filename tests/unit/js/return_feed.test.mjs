// What the studio sends back, as the guest page reads it: which kinds the studio's answer
// sends, the incoming statistics, the volume and the headphones choice kept for the next
// visit, and the player's own state with stand-ins for the page's elements.
import { test } from "node:test";
import assert from "node:assert/strict";

import {
  NOTES, ReturnFeed, echoNote, inboundSummary, keepHeadphones, mergeInbound, receivedTracks, receiving,
  storedHeadphones, storedVolume,
} from "../../../lib/guestrec/guest_page/return_feed.js";

const transceiver = (kind, currentDirection) => ({ currentDirection, receiver: { track: { kind } } });

test("the studio's answer says which kinds come back", () => {
  assert.deepEqual(receiving([transceiver("audio", "sendrecv"), transceiver("video", "sendrecv")]),
    { audio: true, video: true });
  // A studio with its return picture off answers the video as recvonly: ours is sendonly.
  assert.deepEqual(receiving([transceiver("audio", "sendrecv"), transceiver("video", "sendonly")]),
    { audio: true, video: false });
  assert.deepEqual(receiving([transceiver("audio", null), transceiver("video", "inactive")]),
    { audio: false, video: false });
  assert.deepEqual(receiving([{ currentDirection: "sendrecv", receiver: {} }]), { audio: false, video: false });
});

test("incoming statistics per kind; nothing else counts", () => {
  const report = new Map([
    ["a", { type: "inbound-rtp", kind: "audio", packetsReceived: 500, packetsLost: 2, bytesReceived: 40000,
      totalSamplesReceived: 480000, concealedSamples: 960 }],
    ["v", { type: "inbound-rtp", kind: "video", packetsReceived: 900, bytesReceived: 700000, framesDecoded: 150,
      frameWidth: 640, frameHeight: 360 }],
    ["o", { type: "outbound-rtp", kind: "video", packetsSent: 9999 }],
  ]);
  assert.deepEqual(inboundSummary(report), {
    audio: { packetsReceived: 500, packetsLost: 2, bytesReceived: 40000, samplesReceived: 480000, concealedSamples: 960 },
    video: { packetsReceived: 900, packetsLost: 0, bytesReceived: 700000, framesDecoded: 150, frameWidth: 640,
      frameHeight: 360 },
  });
  assert.deepEqual(inboundSummary([{ type: "outbound-rtp", kind: "audio" }]), { audio: null, video: null });
});

test("volume and headphones are kept; odd stored values fall back", () => {
  assert.equal(storedVolume(null), 100);
  assert.equal(storedVolume(""), 100);
  assert.equal(storedVolume("loud"), 100);
  assert.equal(storedVolume("35"), 35);
  assert.equal(storedVolume("250"), 100);
  assert.equal(storedVolume("-3"), 0);
  const store = new Map();
  const storage = { getItem: (k) => (store.has(k) ? store.get(k) : null), setItem: (k, v) => store.set(k, v) };
  assert.equal(storedHeadphones(storage), false); // speakers until the guest says otherwise
  keepHeadphones(storage, true);
  assert.equal(storedHeadphones(storage), true);
  keepHeadphones(storage, false);
  assert.equal(storedHeadphones(storage), false);
  const broken = { getItem: () => { throw new Error("denied"); }, setItem: () => { throw new Error("denied"); } };
  assert.equal(storedHeadphones(broken), false);
  keepHeadphones(broken, true); // private mode: no error for the guest
  assert.equal(storedHeadphones(null), false);
});

test("what the guest is told about echo cancellation and the recording", () => {
  assert.match(echoNote(false), /headphones/);
  assert.match(echoNote(false), /echo cancellation is on: the recording is a little less clean/);
  assert.match(echoNote(true), /echo cancellation is off/);
});

function element() {
  const listeners = {};
  return {
    listeners, value: "", volume: 1, srcObject: null, hidden: true, textContent: "", played: 0, refuse: false,
    addEventListener(type, fn) { listeners[type] = fn; },
    play() { this.played += 1; return this.refuse ? Promise.reject(new Error("NotAllowedError")) : Promise.resolve(); },
  };
}

function feed(storage) {
  const ui = {
    returnAudio: element(), returnVideo: element(), returnNote: element(), returnVolume: element(),
    returnPlay: element(),
  };
  const state = {};
  return { ui, state, feed: new ReturnFeed(ui, state, storage) };
}

test("the player: volume from the slider, kept; a studio that sends nothing back", async () => {
  const store = new Map([["guestrec.returnVolume", "40"]]);
  const storage = { getItem: (k) => (store.has(k) ? store.get(k) : null), setItem: (k, v) => store.set(k, v) };
  const { ui, state, feed: f } = feed(storage);
  assert.equal(state.returnVolume, 40);
  assert.equal(ui.returnAudio.volume, 0.4);
  assert.equal(ui.returnNote.textContent, NOTES.before);
  ui.returnVolume.value = "70";
  ui.returnVolume.listeners.input();
  assert.equal(ui.returnAudio.volume, 0.7);
  assert.equal(store.get("guestrec.returnVolume"), "70");

  // A studio with its return off: nothing plays, the guest is told there is no picture.
  const peer = { getTransceivers: () => [transceiver("audio", "sendonly"), transceiver("video", "sendonly")],
    getStats: async () => new Map() };
  f.show(peer);
  assert.equal(ui.returnAudio.srcObject, null);
  assert.equal(ui.returnVideo.srcObject, null);
  assert.equal(state.returnAudio, false);
  assert.equal(ui.returnNote.textContent, NOTES.noPicture);
  assert.deepEqual(await f.stats(), { audio: null, video: null });
  f.clear(NOTES.reconnecting);
  assert.equal(ui.returnNote.textContent, NOTES.reconnecting);
  assert.equal(await f.stats(), null);
});

test("the player: the first picture hides the note; a refused play shows a button", async () => {
  const { ui, feed: f } = feed(null);
  ui.returnNote.textContent = NOTES.waiting;
  ui.returnVideo.videoWidth = 0;
  ui.returnVideo.listeners.resize();
  assert.equal(ui.returnNote.textContent, NOTES.waiting);
  ui.returnVideo.videoWidth = 640;
  ui.returnVideo.listeners.resize();
  assert.equal(ui.returnNote.textContent, "");

  ui.returnAudio.srcObject = {}; // a track is there
  ui.returnAudio.refuse = true;
  f.play();
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(ui.returnPlay.hidden, false);
  ui.returnAudio.refuse = false;
  ui.returnPlay.listeners.click();
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(ui.returnPlay.hidden, true);
  f.clear();
  assert.equal(ui.returnAudio.srcObject, null);
  assert.equal(ui.returnNote.textContent, NOTES.before);
});

test("the first incoming track of each kind; a track only sent is not one", () => {
  const sent = transceiver("audio", "sendonly");
  const heard = transceiver("audio", "sendrecv");
  const seen = transceiver("video", "recvonly");
  const tracks = receivedTracks([sent, heard, transceiver("audio", "recvonly"), seen]);
  assert.equal(tracks.audio, heard.receiver.track);
  assert.equal(tracks.video, seen.receiver.track);
  assert.deepEqual(receivedTracks([sent]), { audio: null, video: null });
});

test("statistics from several connections add up", () => {
  const audio = { packetsReceived: 10, packetsLost: 1, bytesReceived: 800, samplesReceived: 960, concealedSamples: 0 };
  const video = { packetsReceived: 30, packetsLost: 0, bytesReceived: 9000, framesDecoded: 5, frameWidth: 320, frameHeight: 180 };
  assert.deepEqual(mergeInbound({ audio: null, video: null }, { audio, video: null }), { audio, video: null });
  assert.deepEqual(mergeInbound({ audio, video }, { audio, video: { ...video, frameWidth: 640, frameHeight: 360 } }), {
    audio: { packetsReceived: 20, packetsLost: 2, bytesReceived: 1600, samplesReceived: 1920, concealedSamples: 0 },
    video: { packetsReceived: 60, packetsLost: 0, bytesReceived: 18000, framesDecoded: 10, frameWidth: 640, frameHeight: 360 },
  });
});

test("the player: sound and picture from two connections; shown again, what plays goes on", async () => {
  globalThis.MediaStream = class { constructor(tracks) { this.tracks = tracks; } };
  const { ui, state, feed: f } = feed(null);
  const own = { getTransceivers: () => [transceiver("audio", "sendonly")], getStats: async () => new Map() };
  const sound = transceiver("audio", "sendrecv");
  const soundPeer = { getTransceivers: () => [sound], getStats: async () => new Map([["a",
    { type: "inbound-rtp", kind: "audio", packetsReceived: 7 }]]) };
  const picture = transceiver("video", "recvonly");
  const picturePeer = { getTransceivers: () => [picture], getStats: async () => new Map([["v",
    { type: "inbound-rtp", kind: "video", framesDecoded: 3 }]]) };
  f.show(own, soundPeer);
  const playing = ui.returnAudio.srcObject;
  assert.equal(playing.tracks[0], sound.receiver.track);
  assert.equal(ui.returnAudio.played, 1);
  assert.equal(ui.returnNote.textContent, NOTES.noPicture);
  f.show(own, soundPeer, picturePeer);
  assert.equal(ui.returnAudio.srcObject, playing); // not started again
  assert.equal(ui.returnAudio.played, 1);
  assert.equal(ui.returnVideo.srcObject.tracks[0], picture.receiver.track);
  assert.deepEqual([state.returnAudio, state.returnVideo], [true, true]);
  assert.equal(ui.returnNote.textContent, NOTES.waiting);
  const stats = await f.stats();
  assert.equal(stats.audio.packetsReceived, 7);
  assert.equal(stats.video.framesDecoded, 3);
  // The sound's note stays when the first picture clears the picture's.
  f.noteSound(NOTES.noSound);
  assert.equal(ui.returnNote.textContent, NOTES.waiting + " " + NOTES.noSound);
  ui.returnVideo.videoWidth = 640;
  ui.returnVideo.listeners.resize();
  assert.equal(ui.returnNote.textContent, NOTES.noSound);
  f.clear();
  assert.equal(ui.returnNote.textContent, NOTES.before);
  delete globalThis.MediaStream;
});

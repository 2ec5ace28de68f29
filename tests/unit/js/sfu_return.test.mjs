// The return through an SFU, as the guest page asks for it: the return's address from the
// studio's Link header, the sound's offer and the picture's offer and answer against a real
// HTTP server on 127.0.0.1, refusals in words, and the two extra connections' life beside
// the guest's own (stand-ins for RTCPeerConnection and the page's elements: Node has none).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";

import {
  RETURN_REL, SfuReturn, browserRefusal, kindUrl, linkTarget, parseLinks, patchPictureAnswer, phaseAfter,
  pictureNote, postSoundOffer, requestPicture, returnUrl, soundNote,
} from "../../../lib/guestrec/guest_page/sfu_return.js";
import { NOTES, ReturnFeed } from "../../../lib/guestrec/guest_page/return_feed.js";

const TOKEN = "tok-9";
const AUTH = { Authorization: "Bearer " + TOKEN };
let server;
let base; // http://127.0.0.1:PORT/
let returnAt; // the return's address the studio names
const seen = []; // {method, path, auth, type, body}
let plan = {}; // per "POST audio", "POST video", "PATCH video": {status, body, delayMs}

before(async () => {
  server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => { body += c; });
    req.on("end", () => {
      seen.push({ method: req.method, path: req.url, auth: req.headers.authorization,
        type: req.headers["content-type"], body });
      const kind = req.url.split("/").pop();
      const answer = plan[req.method + " " + kind] || { status: 500, body: "nothing planned" };
      setTimeout(() => {
        res.writeHead(answer.status, answer.status === 201 ? { "Content-Type": "application/sdp" } : {});
        res.end(answer.body || "");
      }, answer.delayMs || 0);
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${server.address().port}/`;
  returnAt = base + "whip/session/S1/return";
});

after(() => new Promise((resolve) => server.close(resolve)));

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(check, what) {
  for (let i = 0; i < 200; i++) {
    if (check()) return;
    await pause(5);
  }
  assert.fail("waited in vain for " + what);
}

test("the return's address from a Link header with several links, relative or not", () => {
  const whip = "https://studio.example/sub/whip/Ann";
  const header = '</sub/events/7>; rel="urn:guestrec:events", </sub/whip/session/S1/return>; rel="urn:guestrec:return"';
  assert.equal(returnUrl(header, whip), "https://studio.example/sub/whip/session/S1/return");
  assert.equal(returnUrl('<session/S2/return>; rel="urn:guestrec:return"', whip),
    "https://studio.example/sub/whip/session/S2/return");
  assert.equal(returnUrl('<https://media.example/r/3>;rel="other URN:GUESTREC:RETURN"', whip), "https://media.example/r/3");
  assert.equal(returnUrl("</r/4>; title=x; rel=urn:guestrec:return", whip), "https://studio.example/r/4");
  assert.equal(returnUrl('</sub/events/7>; rel="urn:guestrec:events"', whip), null);
  assert.equal(returnUrl(null, whip), null);
  assert.equal(returnUrl("", whip), null);
  assert.deepEqual(parseLinks('<a>; rel="x y", <b>'), [{ url: "a", rels: ["x", "y"] }, { url: "b", rels: [] }]);
  assert.equal(linkTarget('<a>; rel="x", <b>; rel="x"', "x", "https://s.example/"), "https://s.example/a");
  assert.equal(RETURN_REL, "urn:guestrec:return");
  assert.equal(kindUrl("https://s.example/whip/session/S1/return", "audio"), "https://s.example/whip/session/S1/return/audio");
  assert.equal(kindUrl("https://s.example/r/?k=1", "video"), "https://s.example/r/video?k=1");
});

test("the sound: the page's offer with the token; the studio's answers", async () => {
  seen.length = 0;
  plan = { "POST audio": { status: 201, body: "v=0 sound answer" } };
  assert.deepEqual(await postSoundOffer(fetch, returnAt, AUTH, "v=0 sound offer"),
    { outcome: "answer", status: 201, sdp: "v=0 sound answer" });
  assert.deepEqual(seen, [{ method: "POST", path: "/whip/session/S1/return/audio", auth: AUTH.Authorization,
    type: "application/sdp", body: "v=0 sound offer" }]);
  plan = { "POST audio": { status: 404 } };
  assert.equal((await postSoundOffer(fetch, returnAt, AUTH, "v=0")).outcome, "gone");
  plan = { "POST audio": { status: 409, body: "no return sound" } };
  assert.equal((await postSoundOffer(fetch, returnAt, AUTH, "v=0")).outcome, "none");
  plan = { "POST audio": { status: 503, body: "The audio mixer is not running.\n" } };
  assert.deepEqual(await postSoundOffer(fetch, returnAt, AUTH, "v=0"),
    { outcome: "refused", status: 503, reason: "The audio mixer is not running." });
  plan = { "POST audio": { status: 503 } };
  assert.match((await postSoundOffer(fetch, returnAt, AUTH, "v=0")).reason, /media server cannot send it now/);
});

test("the picture: the media server's offer, then the page's answer in a PATCH", async () => {
  seen.length = 0;
  plan = { "POST video": { status: 201, body: "v=0 picture offer" }, "PATCH video": { status: 204 } };
  assert.deepEqual(await requestPicture(fetch, returnAt, AUTH), { outcome: "offer", status: 201, sdp: "v=0 picture offer" });
  assert.deepEqual(await patchPictureAnswer(fetch, returnAt, AUTH, "v=0 picture answer"), { outcome: "done", status: 204 });
  assert.deepEqual(seen.map((s) => [s.method, s.path, s.auth, s.type, s.body]), [
    ["POST", "/whip/session/S1/return/video", AUTH.Authorization, undefined, ""],
    ["PATCH", "/whip/session/S1/return/video", AUTH.Authorization, "application/sdp", "v=0 picture answer"],
  ]);
  plan = { "POST video": { status: 404 }, "PATCH video": { status: 404 } };
  assert.equal((await requestPicture(fetch, returnAt, AUTH)).outcome, "none");
  assert.equal((await patchPictureAnswer(fetch, returnAt, AUTH, "v=0")).outcome, "gone");
  plan = { "POST video": { status: 503, body: "No picture is published yet." }, "PATCH video": { status: 400 } };
  assert.deepEqual(await requestPicture(fetch, returnAt, AUTH),
    { outcome: "refused", status: 503, reason: "No picture is published yet." });
  assert.deepEqual(await patchPictureAnswer(fetch, returnAt, AUTH, "v=0"),
    { outcome: "refused", status: 400, reason: "the studio did not take this browser's answer" });
});

test("an unreachable studio is a refusal in words, never an exception", async () => {
  const closed = http.createServer();
  await new Promise((resolve) => closed.listen(0, "127.0.0.1", resolve));
  const gone = `http://127.0.0.1:${closed.address().port}/whip/session/S1/return`;
  await new Promise((resolve) => closed.close(resolve));
  for (const reply of [await postSoundOffer(fetch, gone, AUTH, "v=0"), await requestPicture(fetch, gone, AUTH),
    await patchPictureAnswer(fetch, gone, AUTH, "v=0")]) {
    assert.deepEqual(reply, { outcome: "refused", status: null, reason: "the studio cannot be reached" });
  }
});

test("the notes for each phase", () => {
  assert.equal(pictureNote("connecting"), NOTES.waiting);
  assert.equal(pictureNote("none"), NOTES.noPicture);
  assert.equal(pictureNote("on"), null); // show() says it, and the first picture clears it
  assert.equal(pictureNote("off"), null);
  assert.equal(pictureNote("refused: No picture yet."), "The studio's picture cannot come now: No picture yet.");
  assert.match(pictureNote("lost"), /connection was lost/);
  assert.equal(soundNote("on"), "");
  assert.equal(soundNote("connecting"), "");
  assert.equal(soundNote("none"), NOTES.noSound);
  assert.equal(soundNote("refused: the mixer is busy"), "You cannot hear the studio now: the mixer is busy.");
  assert.equal(phaseAfter({ outcome: "gone" }), "off");
  assert.equal(phaseAfter({ outcome: "none" }), "none");
  assert.equal(phaseAfter({ outcome: "refused", reason: "full" }), "refused: full");
  assert.equal(browserRefusal(new Error("Invalid SDP line.")), "refused: this browser could not set it up (Invalid SDP line)");
});

// -- the extra connections, with stand-ins for the browser ------------------------------------

globalThis.MediaStream = class { constructor(tracks) { this.tracks = tracks; } };

let made = [];
class FakePeer {
  constructor(config) {
    this.config = config;
    this.transceivers = [];
    this.closed = false;
    this.iceGatheringState = "complete";
    this.connectionState = "new";
    this.statsReport = [];
    made.push(this);
  }
  addTransceiver(trackOrKind, init) {
    const track = typeof trackOrKind === "string" ? null : trackOrKind;
    const kind = track ? track.kind : trackOrKind;
    this.transceivers.push({ kind, init, direction: init.direction, currentDirection: null, sender: { track },
      receiver: { track: { kind, from: "studio" } } });
  }
  getTransceivers() { return this.transceivers; }
  getSenders() { return this.transceivers.map((t) => t.sender); }
  open() { if (this.closed) throw new Error("closed"); }
  async createOffer() {
    this.open();
    return { type: "offer", sdp: "offer " + this.transceivers.map((t) => t.kind + " " + t.direction).join(", ") };
  }
  async createAnswer() { this.open(); return { type: "answer", sdp: "answer video recvonly" }; }
  async setLocalDescription(d) {
    this.open();
    this.localDescription = d;
    if (d.type === "answer") this.transceivers.forEach((t) => { t.currentDirection = t.direction; });
  }
  async setRemoteDescription(d) {
    this.open();
    if (d.sdp === "v=0 broken") throw new Error("Failed to parse SessionDescription.");
    this.remoteDescription = d;
    if (d.type === "offer") this.addTransceiver("video", { direction: "recvonly" }); // the media server's picture
    else this.transceivers.forEach((t) => { t.currentDirection = t.direction; });
  }
  async getStats() { return new Map(this.statsReport.map((s, i) => [String(i), s])); }
  close() { this.closed = true; }
}

// The guest's own connection through the SFU: sends only (the media server answered recvonly).
function mainPeer() {
  const peer = new FakePeer({});
  peer.addTransceiver({ kind: "audio" }, { direction: "sendrecv" });
  peer.transceivers[0].currentDirection = "sendonly";
  return peer;
}

function element() {
  return {
    value: "", volume: 1, srcObject: null, hidden: true, textContent: "", played: 0,
    addEventListener() {}, play() { this.played += 1; return Promise.resolve(); },
  };
}

function page(hooks) {
  const ui = { returnAudio: element(), returnVideo: element(), returnNote: element(), returnVolume: element(),
    returnPlay: element() };
  const state = {};
  const feed = new ReturnFeed(ui, state, null);
  const mic = { kind: "audio", id: "mic" };
  const stream = { getAudioTracks: () => [mic] };
  const page = { ui, state, feed, mic, current: null };
  page.sfu = new SfuReturn(feed, Object.assign({ headers: () => AUTH, current: () => page.current,
    iceServers: () => [{ urls: "stun:127.0.0.1:3478" }], stream: () => stream, PeerConnection: FakePeer }, hooks));
  return page;
}

const settled = (sfu) => () => sfu.state.audio !== "connecting" && sfu.state.video !== "connecting";

test("through the SFU: the sound and the picture come on two more connections and play", async () => {
  made = [];
  seen.length = 0;
  plan = { "POST audio": { status: 201, body: "v=0 sound answer" }, "POST video": { status: 201, body: "v=0 picture offer" },
    "PATCH video": { status: 204 } };
  const p = page();
  const main = p.current = mainPeer();
  p.sfu.start(main, returnAt);
  assert.deepEqual([p.sfu.state.audio, p.sfu.state.video, p.sfu.state.sets], ["connecting", "connecting", 1]);
  assert.equal(p.ui.returnNote.textContent, NOTES.waiting);
  await until(settled(p.sfu), "both returns");
  assert.deepEqual([p.sfu.state.audio, p.sfu.state.video], ["on", "on"]);
  const [sound, picture] = [p.sfu.sound, p.sfu.picture];
  // The sound sends the guest's own microphone track and receives the mix.
  assert.equal(sound.transceivers[0].sender.track, p.mic);
  assert.equal(sound.transceivers[0].direction, "sendrecv");
  assert.deepEqual(sound.config.iceServers, [{ urls: "stun:127.0.0.1:3478" }]);
  assert.equal(picture.remoteDescription.sdp, "v=0 picture offer");
  const bodies = Object.fromEntries(seen.map((s) => [s.method + " " + s.path.split("/").pop(), s.body]));
  assert.deepEqual(bodies, { "POST audio": "offer audio sendrecv", "POST video": "", "PATCH video": "answer video recvonly" });
  // The audio from one, the video from the other; the guest's own connection brings neither.
  assert.equal(p.ui.returnAudio.srcObject.tracks[0], sound.transceivers[0].receiver.track);
  assert.equal(p.ui.returnVideo.srcObject.tracks[0], picture.transceivers[0].receiver.track);
  assert.deepEqual([p.state.returnAudio, p.state.returnVideo], [true, true]);
  assert.deepEqual(p.sfu.peers(), [sound, picture]);

  // Statistics over all three connections, as tests read them (guestReturn.stats()).
  main.statsReport = [{ type: "outbound-rtp", kind: "audio", packetsSent: 99 }];
  sound.statsReport = [{ type: "inbound-rtp", kind: "audio", packetsReceived: 50, bytesReceived: 4000,
    totalSamplesReceived: 48000 }];
  picture.statsReport = [{ type: "inbound-rtp", kind: "video", packetsReceived: 90, framesDecoded: 15,
    frameWidth: 640, frameHeight: 360 }];
  const stats = await p.feed.stats();
  assert.equal(stats.audio.packetsReceived, 50);
  assert.equal(stats.audio.samplesReceived, 48000);
  assert.equal(stats.video.framesDecoded, 15);
  assert.equal(stats.video.frameWidth, 640);

  // The connection drops: both close, the guest's own track keeps going.
  p.sfu.stop(NOTES.reconnecting);
  assert.deepEqual([sound.closed, picture.closed, main.closed], [true, true, false]);
  assert.deepEqual([p.sfu.state.audio, p.sfu.state.video, p.sfu.peers().length], ["off", "off", 0]);
  assert.equal(p.ui.returnAudio.srcObject, null);
  assert.equal(p.ui.returnNote.textContent, NOTES.reconnecting);
  assert.equal(await p.feed.stats(), null);
});

test("no return link: the guest's own connection alone, as without an SFU", async () => {
  made = [];
  seen.length = 0;
  const p = page();
  const main = p.current = new FakePeer({});
  main.addTransceiver({ kind: "audio" }, { direction: "sendrecv" });
  main.transceivers[0].currentDirection = "sendrecv";
  p.sfu.start(main, null);
  await pause(20);
  assert.deepEqual(made, [main]);
  assert.equal(seen.length, 0);
  assert.deepEqual([p.sfu.state.audio, p.sfu.state.video, p.sfu.state.sets], ["off", "off", 0]);
  assert.equal(p.ui.returnAudio.srcObject.tracks[0], main.transceivers[0].receiver.track);
  assert.equal(p.ui.returnNote.textContent, NOTES.noPicture);
});

test("refusals leave the guest without that return and say why; the rest goes on", async () => {
  plan = { "POST audio": { status: 503, body: "The audio mixer is not ready." }, "POST video": { status: 404 } };
  made = [];
  let p = page();
  const main = p.current = mainPeer();
  p.sfu.start(main, returnAt);
  await until(settled(p.sfu), "both refusals");
  assert.deepEqual([p.sfu.state.audio, p.sfu.state.video], ["refused: The audio mixer is not ready.", "none"]);
  assert.equal(p.ui.returnNote.textContent, NOTES.noPicture + " You cannot hear the studio now: The audio mixer is not ready.");
  assert.equal(p.sfu.peers().length, 0);
  assert.ok(made.filter((m) => m !== main).every((m) => m.closed));
  assert.equal(main.closed, false);

  plan = { "POST audio": { status: 409 }, "POST video": { status: 201, body: "v=0 offer" },
    "PATCH video": { status: 500, body: "Janus said no." } };
  p = page();
  p.current = mainPeer();
  p.sfu.start(p.current, returnAt);
  await until(settled(p.sfu), "sound none, picture refused");
  assert.deepEqual([p.sfu.state.audio, p.sfu.state.video], ["none", "refused: Janus said no."]);
  assert.equal(p.ui.returnNote.textContent,
    "The studio's picture cannot come now: Janus said no. " + NOTES.noSound);

  // A network error, and no microphone: the sound is asked for receive only.
  made = [];
  p = page({ fetchFn: () => Promise.reject(new TypeError("Failed to fetch")), stream: () => null });
  p.current = mainPeer();
  p.sfu.start(p.current, returnAt);
  await until(settled(p.sfu), "unreachable");
  assert.deepEqual([p.sfu.state.audio, p.sfu.state.video],
    ["refused: the studio cannot be reached", "refused: the studio cannot be reached"]);
  assert.deepEqual(made[1].transceivers.map((t) => [t.kind, t.direction, t.sender.track]), [["audio", "recvonly", null]]);
  // What the studio sent cannot be used: the browser's own words, in brackets.
  plan = { "POST audio": { status: 201, body: "v=0 broken" }, "POST video": { status: 201, body: "v=0 broken" } };
  p = page();
  p.current = mainPeer();
  p.sfu.start(p.current, returnAt);
  await until(settled(p.sfu), "unusable answers");
  assert.equal(p.sfu.state.audio, "refused: this browser could not set it up (Failed to parse SessionDescription)");
  assert.equal(p.sfu.state.video, p.sfu.state.audio);
  assert.equal(p.sfu.peers().length, 0);
  plan = { "POST audio": { status: 404 }, "POST video": { status: 201, body: "v=0 offer" }, "PATCH video": { status: 404 } };
  p = page();
  p.current = mainPeer();
  p.sfu.start(p.current, returnAt);
  await until(settled(p.sfu), "no such session");
  assert.deepEqual([p.sfu.state.audio, p.sfu.state.video], ["off", "off"]);
});

test("answers for a connection that is no longer current are dropped; never two sets at once", async () => {
  plan = { "POST audio": { status: 201, body: "v=0 late answer", delayMs: 80 },
    "POST video": { status: 201, body: "v=0 late offer", delayMs: 80 }, "PATCH video": { status: 204 } };
  made = [];
  const p = page();
  const first = p.current = mainPeer();
  p.sfu.start(first, returnAt);
  const sound = p.sfu.sound;
  p.sfu.stop();
  assert.equal(sound.closed, true);
  await pause(150);
  assert.equal(sound.remoteDescription, undefined);
  assert.equal(made.length, 2); // no picture connection made for the late offer
  assert.deepEqual([p.sfu.state.audio, p.sfu.state.video], ["off", "off"]);
  assert.equal(p.ui.returnAudio.srcObject, null);

  // A new connection replaces the old one's set before its answers come in.
  const second = p.current = mainPeer();
  p.sfu.start(second, returnAt);
  const early = p.sfu.sound;
  const third = p.current = mainPeer();
  p.sfu.start(third, returnAt);
  assert.equal(early.closed, true);
  await until(settled(p.sfu), "the third set");
  assert.deepEqual([p.sfu.state.audio, p.sfu.state.video, p.sfu.state.sets], ["on", "on", 3]);
  assert.equal(early.remoteDescription, undefined);
  // Open besides the guest's own connections: the third set alone.
  assert.deepEqual(made.filter((m) => !m.closed && ![first, second, third].includes(m)), p.sfu.peers());

  // The page's connection changed without stop(): what comes in is not shown.
  plan["POST audio"].delayMs = 50;
  const fourth = p.current = mainPeer();
  p.sfu.start(fourth, returnAt);
  const stale = p.sfu.sound;
  p.current = null;
  await pause(150);
  assert.equal(stale.remoteDescription, undefined);
  assert.deepEqual([p.sfu.state.audio, p.sfu.state.video], ["connecting", "connecting"]);
});

test("a return connection that fails is lost on its own", async () => {
  plan = { "POST audio": { status: 201, body: "v=0 a" }, "POST video": { status: 201, body: "v=0 o" },
    "PATCH video": { status: 204 } };
  const p = page();
  p.current = mainPeer();
  p.sfu.start(p.current, returnAt);
  await until(settled(p.sfu), "both returns");
  const picture = p.sfu.picture;
  picture.connectionState = "failed";
  picture.onconnectionstatechange();
  assert.deepEqual([p.sfu.state.audio, p.sfu.state.video], ["on", "lost"]);
  assert.equal(picture.closed, true);
  assert.equal(p.ui.returnVideo.srcObject, null);
  assert.ok(p.ui.returnAudio.srcObject);
  assert.match(p.ui.returnNote.textContent, /picture stopped: its connection was lost/);
});

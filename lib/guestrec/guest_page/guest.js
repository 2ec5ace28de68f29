// Guest page: camera + microphone to the studio over WHIP, with the studio's recording
// state and requests (mute, messages, hang-up) from its data-channel messages.
//
// The page's entry module: it makes the parts and carries out the effects the connection's
// state machine (connection_states.js) asks for. The requests to the studio are in
// studio_requests.js, what the page shows in guest_view.js, camera and microphone in
// local_media.js, coming back after a drop in reconnect.js, connection quality in
// quality.js, the recording on the guest's own computer in guest_recorder.js, what the
// studio sends back (the others' sound and picture) in return_feed.js and, through an SFU,
// sfu_return.js, the headphones choice in headphones.js, sharing the screen in screen_share.js.

import { ConnectionMachine, Ev, State, controlsFor, flagsFor, peerEvent } from "./connection_states.js";
import { errorText, statusText, studioMessageText } from "./guest_texts.js";
import { StudioRequests, eventsUrl, readGuestLink, waitForIceGathering } from "./studio_requests.js";
import { ResumeStore, rejoin, watchDrop } from "./reconnect.js";
import * as quality from "./quality.js";
import { createGuestView } from "./guest_view.js";
import { LocalMedia } from "./local_media.js";
import { NOTES, ReturnFeed, storedHeadphones } from "./return_feed.js";
import { startGuestRecorder } from "./guest_recorder.js";
import { wireHeadphones } from "./headphones.js";
import { ScreenShare } from "./screen_share.js";
import { SfuReturn, returnUrl } from "./sfu_return.js";

const MEDIA_WAIT_MS = 7000; // after the answer; with gathering, the guest knows within ~10 s
const ICE_GATHERING_MS = 3000; // WHIP without trickle: all candidates go in the offer

const { params, token } = readGuestLink(location, sessionStorage, history);
const requests = new StudioRequests(token, location.href);
const resume = new ResumeStore(sessionStorage);
const machine = new ConnectionMachine();
const kept = (() => { try { return window.localStorage; } catch (e) { return null; } })(); // the guest's choices

// Read by tests and handy when debugging in the console.
const state = window.guestState = {
  media: false, recording: false, file: null, answerSdp: null, error: null, httpStatus: null,
  messages: [], guest: null, muted: false, cameraOff: false, level: 0, quality: null, devices: null,
  studioMessage: null, iceServers: null, mediaUnreachable: false, busyRetries: 0,
  reconnects: 0, reconnectAttempts: 0,
  headphones: storedHeadphones(kept), returnVolume: 100, returnAudio: false, returnVideo: false,
  connectMs: null, reconnectMs: null, // Join -> connected; drop noticed -> connected again
  dropNoticedAt: null, // performance.now() of the last drop noticed
  ...flagsFor(machine.state), // connection, joined, connected, reconnecting, ended
};

const view = createGuestView(document, state);
const { ui } = view;
const recorder = startGuestRecorder();
window.guestRecorder = recorder; // tests hash the page's bytes and stop it as Hang up does
window.guestRecorderState = recorder.state;
const media = new LocalMedia(view, state, { onNewStream: useStream, onToggle: tellStudio });
const returnFeed = new ReturnFeed(ui, state, kept);
window.guestReturn = returnFeed; // tests read what came in: await guestReturn.stats()
const sfuReturn = new SfuReturn(returnFeed, { headers: () => requests.authHeaders(), current: () => pc,
  iceServers: () => state.iceServers, stream: () => media.stream });
window.guestSfuReturn = sfuReturn; // tests read its .state
const screen = new ScreenShare({ button: ui.shareScreen, note: ui.screenNote }, navigator, requests,
  () => (resource ? { resource, name: state.guest || machine.name } : null), view.showError);
window.guestScreen = screen.state;
window.guestScreenShare = screen; // tests end its tracks as the browser's "Stop sharing" does

// The current connection to the studio.
let pc = null;
let channel = null;
let resource = null; // the WHIP session URL from the Location header
let returnAt = null; // through an SFU: where the studio's sound and picture come from
let events = null; // through an SFU: the studio's event stream
let stopQuality = () => {};
let stopDropWatch = () => {};
let mediaReady = false; // the camera started once: Join can be used
let joinStarted = 0;
let dropNoticed = 0;

ui.name.value = (params.get("name") || "").slice(0, 64);

// -- the state machine and its effects -------------------------------------------------------

const queue = [];
let performing = false;

// Hands an event to the machine; returns whether it was taken. Effects run in order, also
// those of events sent while effects run.
function dispatch(event) {
  const step = machine.send(event);
  if (!step.accepted) return false;
  Object.assign(state, flagsFor(machine.state));
  showControls();
  queue.push(...step.effects);
  if (performing) return true;
  performing = true;
  try {
    while (queue.length) perform(queue.shift());
  } finally {
    performing = false;
  }
  return true;
}

function showControls() {
  const controls = controlsFor(machine.state);
  view.showControls(Object.assign(controls, { join: controls.join && mediaReady }));
  screen.allow(machine.state === State.CONNECTED);
}

const EFFECTS = {
  "mark-join-start": () => { joinStarted = performance.now(); },
  "mark-connected": () => { state.connectMs = Math.round(performance.now() - joinStarted); },
  "mark-drop": () => { dropNoticed = performance.now(); state.dropNoticedAt = Math.round(dropNoticed); },
  "mark-reconnected": () => {
    state.reconnects += 1;
    state.reconnectMs = Math.round(performance.now() - dropNoticed);
  },
  "mark-unreachable": () => { state.mediaUnreachable = true; },
  "status": (e) => view.setStatus(statusText(e.say, { seconds: e.seconds, guest: state.guest || machine.name })),
  "error": (e) => view.showError(e.text !== undefined ? e.text : errorText(e.say)),
  "studio-message": (e) => view.showStudioMessage(studioMessageText(e.say)),
  "connect": (e) => join(e.run, e.name),
  "wait-for-media": (e) => setTimeout(() => dispatch({ type: Ev.MEDIA_TIMEOUT, run: e.run }), MEDIA_WAIT_MS),
  "watch-quality": watchQuality,
  "watch-drop": watchForDrop,
  "drop-peer": dropPeer,
  "rejoin": (e) => comeBack(e.run, e.name),
  "stop-guest-recording": () => recorder.stopAll(null),
  "forget-resume": () => resume.drop(machine.name),
  "leave": leave,
  "farewell": farewell,
};

function perform(effect) {
  try {
    const done = EFFECTS[effect.type](effect);
    if (done && done.catch) done.catch((err) => console.error(effect.type, err));
  } catch (err) {
    console.error(effect.type, err);
  }
}

// -- one connection to the studio ------------------------------------------------------------

function noteHttpStatus(err) {
  if (err && err.status !== undefined && err.status !== null) state.httpStatus = err.status;
}

// ICE servers, peer, data channel, offer, the studio's answer. Resolves with the peer (not
// yet connected) and makes it the page's current one; rejects with an Error for the guest
// (err.final when trying again cannot help).
async function connect(typed, run) {
  let iceServers;
  try {
    iceServers = await requests.iceServers(typed);
  } catch (err) {
    noteHttpStatus(err);
    throw err;
  }
  state.iceServers = iceServers;
  const stream = media.stream;
  const peer = new RTCPeerConnection({ iceServers: iceServers });
  try {
    const ch = peer.createDataChannel("guestrec");
    ch.onmessage = (event) => { if (pc === peer) onMessage(event, ch); };
    ch.onopen = () => { if (pc === peer) tellStudio(); };
    for (const track of stream.getTracks()) {
      // sendrecv: the studio sends the others' sound and its picture back on the same line.
      peer.addTransceiver(track, { direction: "sendrecv", streams: [stream] });
    }
    recorder.attach(stream, peer, ch);
    peer.onconnectionstatechange = () => { if (pc === peer) onPeerState(peer.connectionState); };
    await peer.setLocalDescription(await peer.createOffer());
    await waitForIceGathering(peer, ICE_GATHERING_MS);

    // Back after a drop: the studio's secret gets this guest its name, source and take.
    const saved = resume.get(typed);
    const answer = await requests.postOffer(saved ? saved.name : typed, saved && saved.secret,
      peer.localDescription.sdp, {
        onBusy: (seconds, retries) => {
          state.busyRetries = retries;
          dispatch({ type: Ev.STUDIO_BUSY, run, seconds });
        },
        onResend: () => dispatch({ type: Ev.OFFER_RESENT, run }),
      });
    state.httpStatus = answer.status;
    if (answer.name) state.guest = answer.name;
    if (answer.resumeSecret) resume.put(typed, state.guest || typed, answer.resumeSecret);
    resource = answer.location;
    returnAt = returnUrl(answer.link, answer.whipUrl);
    watchStudioEvents(answer.link, answer.whipUrl);
    state.answerSdp = answer.sdp;
    await peer.setRemoteDescription({ type: "answer", sdp: answer.sdp });
    pc = peer;
    channel = ch;
    return peer;
  } catch (err) {
    noteHttpStatus(err);
    peer.onconnectionstatechange = null;
    peer.close();
    throw err;
  }
}

function discard(peer) {
  if (pc === peer) { pc = null; channel = null; }
  peer.onconnectionstatechange = null;
  peer.close();
}

function onPeerState(connectionState) {
  const type = peerEvent(connectionState);
  if (type) dispatch({ type });
}

async function join(run, typed) {
  let peer;
  try {
    peer = await connect(typed, run);
  } catch (err) {
    dispatch({ type: Ev.JOIN_FAILED, run, message: err.message || String(err) });
    return;
  }
  if (!dispatch({ type: Ev.JOINED, run, connected: peer.connectionState === "connected" })) discard(peer);
  else if (pc === peer) sfuReturn.start(peer, returnAt);
}

// A connection that worked and then dropped is replaced by a new one under the same name.
async function comeBack(run, typed) {
  let peer = null;
  try {
    peer = await rejoin({
      attempt: () => { state.reconnectAttempts += 1; return connect(typed, run); },
      wanted: () => machine.run === run && machine.state === State.RECONNECTING,
      discard: discard,
    });
  } catch (err) {
    dispatch({ type: Ev.RECONNECT_FAILED, run, message: err.message || String(err) });
    return;
  }
  if (!peer) dispatch({ type: Ev.GAVE_UP, run });
  else if (!dispatch({ type: Ev.RECONNECTED, run })) discard(peer);
  else if (pc === peer) sfuReturn.start(peer, returnAt); // the new connection's tracks
}

function watchQuality() {
  stopQuality();
  stopQuality = quality.watch(pc, view.showQuality);
}

function stopWatching() {
  stopDropWatch(); stopQuality();
  stopDropWatch = stopQuality = () => {};
}

function watchForDrop() {
  stopDropWatch();
  const peer = pc;
  stopDropWatch = watchDrop(peer, () => { if (pc === peer) dispatch({ type: Ev.DROPPED }); });
}

// The dropped connection goes without a DELETE (see connection_states.js).
function dropPeer() {
  stopWatching();
  const old = pc;
  pc = null;
  channel = null;
  sfuReturn.stop(NOTES.reconnecting);
  if (old) { old.onconnectionstatechange = null; old.close(); }
}

// Through an SFU the data channel ends at the media server: the studio then names an
// event stream for the recording state (Link header, rel="urn:guestrec:events").
function watchStudioEvents(link, base) {
  if (events) { events.close(); events = null; }
  const url = eventsUrl(link, base, token);
  if (!url || !window.EventSource) return;
  events = new EventSource(url);
  events.onmessage = (event) => onMessage(event, null);
}

async function leave(effect) {
  if (events) { events.close(); events = null; }
  stopWatching();
  view.hideQuality();
  const url = resource;
  resource = null;
  const closing = pc;
  pc = null;
  channel = null;
  // From here on this connection's events are not the page's business.
  if (closing) closing.onconnectionstatechange = null;
  sfuReturn.stop();
  screen.stop("left");
  view.setRecording(false);
  // The camera light goes off when the call ends, unless this computer still records.
  if ((effect.wasInCall || closing) && !recorder.recording()) media.release();
  const run = machine.run;
  if (effect.sendDelete && url) {
    // DELETE before closing: a closed connection can reach the studio first, which
    // then ends the session on its own and answers the DELETE with 404.
    view.setStatus(statusText("leaving"));
    const status = await requests.leave(url);
    const say = status === null ? "left-unreachable" : status >= 200 && status < 300 ? "left" : "left-refused";
    if (machine.run === run) view.setStatus(statusText(say, { status }));
  } else {
    view.setStatus(statusText(effect.say || "not-connected"));
  }
  if (closing) closing.close();
}

// The tab closes: hang up (nothing to resume).
function farewell() {
  screen.farewell();
  if (!resource) return;
  resume.drop(machine.name);
  requests.farewell(resource);
}

// -- what the studio says ---------------------------------------------------------------------

function tellStudio() {
  if (channel && channel.readyState === "open") {
    channel.send(JSON.stringify({ type: "state", muted: state.muted, camera_off: state.cameraOff }));
  }
}

function onMessage(event, from) {
  let msg;
  try { msg = JSON.parse(event.data); } catch (e) { return; }
  state.messages.push(msg);
  if (msg.type === "recording") {
    view.setRecording(msg.recording, msg.file);
    if (msg.guest && msg.guest !== state.guest) {
      state.guest = msg.guest;
      if (state.connected) view.setStatus(statusText("connected", { guest: msg.guest }));
    }
  } else if (msg.type === "guest-recording") {
    recorder.apply(msg); // the recording on this computer
  } else if (msg.type === "error") {
    view.showError("The studio reports a problem: " + msg.message);
  } else if (msg.type === "mute") {
    media.setMuted(!!msg.mute);
    view.showStudioMessage(msg.mute ? "The studio muted your microphone. Press Unmute when you want to speak."
      : "The studio asks you to unmute: your microphone is on again.");
  } else if (msg.type === "message") {
    view.showStudioMessage("Message from the studio: " + msg.text);
  } else if (msg.type === "bitrate" && pc) {
    quality.setVideoBitrate(pc, msg.kbps);
  } else if (msg.type === "hangup" || msg.type === "ended") {
    // Confirm first: the studio closes the connection once it knows we heard it.
    try { if (from) from.send(JSON.stringify({ type: "ended-ack" })); } catch (e) { /* closing */ }
    dispatch({ type: Ev.STUDIO_ENDED, hungUp: msg.type === "hangup" });
  }
}

// -- camera and microphone --------------------------------------------------------------------

// A new stream (another camera or microphone): this computer's recording ends its file
// and, when joined, the tracks are swapped in place: the studio keeps the same connection.
async function useStream(fresh) {
  recorder.mediaChanged(fresh);
  if (!pc) return;
  for (const sender of [pc, ...sfuReturn.peers()].flatMap((p) => p.getSenders())) {
    const track = sender.track && fresh.getTracks().find((t) => t.kind === sender.track.kind);
    if (track) await sender.replaceTrack(track);
  }
}

// -- the guest's controls ---------------------------------------------------------------------

ui.form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const name = ui.name.value.trim();
  if (!name) { ui.name.focus(); return; }
  if (!controlsFor(machine.state).join) return;
  returnFeed.unlock(); // still inside the click: the studio's sound may play later
  view.showError("");
  view.showStudioMessage("");
  if (!media.stream) {
    try { await media.start(ui.camera.value, ui.microphone.value); } catch (err) { view.showError(err.message); return; }
    ui.note.textContent = "";
  }
  dispatch({ type: Ev.JOIN, name });
});
ui.hangup.addEventListener("click", () => dispatch({ type: Ev.HANG_UP }));
ui.mute.addEventListener("click", () => media.setMuted(!state.muted));
ui.cameraOff.addEventListener("click", () => media.setCameraOff(!state.cameraOff));
const switchDevice = () => media.start(ui.camera.value, ui.microphone.value).catch((err) => view.showError(err.message));
ui.camera.addEventListener("change", switchDevice);
ui.microphone.addEventListener("change", switchDevice);
wireHeadphones(ui, state, kept, () => { if (media.stream) switchDevice(); });
// Closing the tab hangs up too.
window.addEventListener("pagehide", () => dispatch({ type: Ev.PAGE_HIDDEN }));

if (!token) view.showError(errorText("no-token"));
showControls();
media.start().then(() => {
  ui.note.textContent = "";
  mediaReady = true;
  showControls();
}).catch((err) => {
  ui.note.textContent = "No camera";
  view.showError(err.message);
});

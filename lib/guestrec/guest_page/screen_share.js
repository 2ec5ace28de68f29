// Sharing the guest's screen: a second connection to the studio beside the camera's, send
// only (the studio sends nothing back on it), named "<name> (screen)" by the studio and
// linked there to the guest's own connection (its session id in Guestrec-Screen-Of), so
// it gets its own OBS source and its own studio recording. The recording on the guest's
// own computer stays the camera's. Nothing runs at import; the browser's objects come in
// through the constructor.

import { screenText } from "./guest_texts.js";
import { waitForIceGathering } from "./studio_requests.js";

export const SCREEN_HEADER = "Guestrec-Screen-Of";
// A screen changes little from one frame to the next; this leaves room for the camera on
// the guest's upload. The studio's own bitrate (b=AS in its answer) caps it further.
export const SCREEN_MAX_KBPS = 2500;
const ICE_GATHERING_MS = 3000;

// Phones and some browsers have no getDisplayMedia: the button is not shown there.
export function canShareScreen(nav) {
  return !!(nav && nav.mediaDevices && typeof nav.mediaDevices.getDisplayMedia === "function");
}

// The studio's id for the guest's own session, from its WHIP resource address.
export function sessionIdOf(resource) {
  const match = /\/whip\/session\/([^/?#]+)/.exec(resource || "");
  return match ? decodeURIComponent(match[1]) : null;
}

// What getDisplayMedia is asked for: the screen at up to 30 fps, with its sound when the
// guest ticks "share audio", never this tab itself.
export function displayOptions() {
  return {
    video: { frameRate: { ideal: 30, max: 30 } }, audio: true,
    selfBrowserSurface: "exclude", surfaceSwitching: "include", systemAudio: "include",
  };
}

// getDisplayMedia's refusals in words for the guest.
export function captureErrorText(err) {
  const name = err && err.name;
  if (name === "NotAllowedError" || name === "AbortError") return screenText("cancelled");
  if (name === "NotReadableError" || name === "NotFoundError") return screenText("unreadable");
  return screenText("cannot-share") + (err && err.message ? " (" + err.message + ")" : "");
}

// The button for a phase ("off", "starting", "on", "stopping"); inCall: the camera is
// connected (a new share needs it; one running can always be stopped).
export function buttonFor(phase, inCall) {
  const on = phase === "on" || phase === "stopping";
  return {
    label: on ? screenText("stop-button") : screenText("share-button"),
    pressed: on,
    disabled: phase === "off" ? !inCall : phase !== "on",
  };
}

export class ScreenShare {
  // ui: {button, note}; nav: the browser's navigator; requests: StudioRequests; owner():
  // {resource, name} of the guest's own connection now, or null; onError(text).
  constructor(ui, nav, requests, owner, onError) {
    this.ui = ui;
    this.nav = nav;
    this.requests = requests;
    this.owner = owner;
    this.onError = onError;
    this.available = canShareScreen(nav);
    this.inCall = false;
    this.run = 0; // a share's number: what an earlier share started reports in vain
    this.pc = null;
    this.stream = null;
    this.resource = null;
    // Read by tests (window.guestScreen).
    this.state = { phase: "off", name: null, recording: false, stoppedBy: null, shares: 0, kinds: [] };
    ui.button.hidden = !this.available;
    ui.button.addEventListener("click", () => {
      if (this.state.phase === "off") this.start();
      else if (this.state.phase === "on") this.stop("button");
    });
    this.show();
  }

  // The camera's connection is up (or not): whether a new share may start.
  allow(inCall) {
    this.inCall = !!inCall;
    this.show();
  }

  show(note) {
    const button = buttonFor(this.state.phase, this.inCall);
    this.ui.button.textContent = button.label;
    this.ui.button.disabled = button.disabled || !this.available;
    this.ui.button.setAttribute("aria-pressed", String(button.pressed));
    if (note !== undefined) {
      this.ui.note.textContent = note;
      this.ui.note.hidden = !note;
    }
  }

  set(phase, note) {
    this.state.phase = phase;
    this.show(note);
  }

  async start() {
    const owner = this.owner();
    if (this.state.phase !== "off" || !owner || !owner.resource) return;
    const run = ++this.run;
    this.state.stoppedBy = null;
    this.set("starting", screenText("choosing"));
    let stream;
    try {
      stream = await this.nav.mediaDevices.getDisplayMedia(displayOptions());
    } catch (err) {
      if (this.run === run) this.set("off", "");
      this.onError(captureErrorText(err));
      return;
    }
    if (this.run !== run) { stream.getTracks().forEach((t) => t.stop()); return; }
    this.stream = stream;
    const video = stream.getVideoTracks()[0];
    if (video && "contentHint" in video) video.contentHint = "detail"; // sharp text over smooth motion
    // The browser's own "Stop sharing" ends the tracks.
    for (const track of stream.getTracks()) {
      track.addEventListener("ended", () => { if (this.run === run) this.stop("browser"); });
    }
    this.state.kinds = stream.getTracks().map((t) => t.kind);
    try {
      await this.connect(stream, owner, run);
    } catch (err) {
      if (this.run !== run) return;
      this.onError(screenText("refused") + " " + (err.message || String(err)));
      await this.stop("refused");
      return;
    }
    if (this.run !== run) return;
    this.state.shares += 1;
    this.set("on", screenText(this.state.kinds.includes("audio") ? "sharing-with-sound" : "sharing"));
  }

  async connect(stream, owner, run) {
    const iceServers = await this.requests.iceServers(owner.name + " (screen)");
    if (this.run !== run) return;
    const peer = new RTCPeerConnection({ iceServers });
    this.pc = peer;
    // The studio's words for this connection: its recording, and its end.
    const channel = peer.createDataChannel("guestrec");
    channel.onmessage = (event) => { if (this.run === run) this.onMessage(event, channel); };
    for (const track of stream.getTracks()) {
      const init = { direction: "sendonly", streams: [stream] };
      if (track.kind === "video") init.sendEncodings = [{ maxBitrate: SCREEN_MAX_KBPS * 1000 }];
      peer.addTransceiver(track, init);
    }
    peer.onconnectionstatechange = () => {
      if (this.run === run && peer.connectionState === "failed") this.stop("lost");
    };
    await peer.setLocalDescription(await peer.createOffer());
    await waitForIceGathering(peer, ICE_GATHERING_MS);
    const answer = await this.requests.postOffer(owner.name + " (screen)", null, peer.localDescription.sdp,
      { headers: { [SCREEN_HEADER]: sessionIdOf(owner.resource) } });
    if (this.run !== run) { this.requests.leave(answer.location); return; }
    this.resource = answer.location;
    this.state.name = answer.name;
    await peer.setRemoteDescription({ type: "answer", sdp: answer.sdp });
  }

  onMessage(event, channel) {
    let msg;
    try { msg = JSON.parse(event.data); } catch (e) { return; }
    if (msg.type === "recording") {
      this.state.recording = !!msg.recording;
    } else if (msg.type === "error") {
      this.onError(screenText("studio-problem") + " " + msg.message);
    } else if (msg.type === "hangup" || msg.type === "ended") {
      try { channel.send(JSON.stringify({ type: "ended-ack" })); } catch (e) { /* closing */ }
      this.stop("studio");
    }
  }

  // by: "button", "browser" (its own Stop sharing), "studio", "lost", "left" (the guest
  // left the studio), "refused". The studio hears of it first (DELETE), as for the camera.
  async stop(by) {
    const phase = this.state.phase;
    if (phase === "off" || phase === "stopping") return;
    this.run += 1;
    this.state.stoppedBy = by;
    this.set("stopping");
    const peer = this.pc;
    const url = this.resource;
    const stream = this.stream;
    this.pc = this.resource = this.stream = null;
    if (peer) peer.onconnectionstatechange = null;
    if (stream) stream.getTracks().forEach((t) => t.stop());
    if (url && by !== "studio") await this.requests.leave(url);
    if (peer) peer.close();
    this.state.recording = false;
    this.set("off", screenText("stopped-" + by));
  }

  // The tab closes.
  farewell() {
    if (this.resource) this.requests.farewell(this.resource);
  }
}

// What the studio sends back through an SFU. There the guest's own connection is a
// publisher the media server only receives from, so the studio names a return in its
// answer (Link header, rel="urn:guestrec:return") and the page opens two more connections:
//   sound    the page offers (its microphone sendrecv) to <return>/audio; the media server
//            mixes everyone but this guest, and hears the guest there too
//   picture  <return>/video offers the studio's picture (recvonly for us); the page
//            answers with a PATCH
// A refusal or a network error of these never touches the call or its recording: the guest
// just has no return, and the note under the picture says why. The Link parsing and the
// requests are pure (tested in Node); the browser's RTCPeerConnection and fetch come in
// through the constructor, nothing runs at import.

import { NOTES } from "./return_feed.js";
import { waitForIceGathering } from "./studio_requests.js";

export const RETURN_REL = "urn:guestrec:return";
const ICE_GATHERING_MS = 3000;
const UNREACHABLE = "the studio cannot be reached";

// The browser could not use what the studio sent (or make its own part): its own words in
// brackets, for whoever helps the guest.
export function browserRefusal(err) {
  const words = err && err.message ? err.message : String(err);
  return "refused: this browser could not set it up (" + words.replace(/[.\s]+$/, "") + ")";
}

// A Link header's links, in order: [{url (as written), rels (lower case)}].
export function parseLinks(header) {
  const links = [];
  for (const match of (header || "").matchAll(/<([^>]*)>([^<]*)/g)) {
    const rel = /(?:^|;)\s*rel\s*=\s*(?:"([^"]*)"|([^;,\s]+))/i.exec(match[2]);
    const rels = rel ? (rel[1] !== undefined ? rel[1] : rel[2]).trim().toLowerCase().split(/\s+/) : [];
    links.push({ url: match[1].trim(), rels });
  }
  return links;
}

// The absolute address of the first link with this relation, resolved against base (the
// WHIP URL the answer came from); null when there is none.
export function linkTarget(header, rel, base) {
  const link = parseLinks(header).find((l) => l.rels.includes(rel.toLowerCase()));
  if (!link) return null;
  try { return new URL(link.url, base).toString(); } catch (e) { return null; }
}

export function returnUrl(header, base) {
  return linkTarget(header, RETURN_REL, base);
}

// <return>/audio or <return>/video.
export function kindUrl(returnAt, kind) {
  const url = new URL(returnAt);
  url.pathname = url.pathname.replace(/\/+$/, "") + "/" + kind;
  return url.toString();
}

// One request; resolves with {status, text}, or {status: null} when the studio was not
// reached (the body too: a connection cut halfway is no answer).
async function exchange(fetchFn, url, init) {
  try {
    const response = await fetchFn(url, init);
    return { status: response.status, text: await response.text() };
  } catch (err) {
    return { status: null, text: "" };
  }
}

function refused(status, text, fallback) {
  return { outcome: "refused", status, reason: status === null ? UNREACHABLE : text.trim() || fallback };
}

// The sound: the page's offer. {outcome: "answer", sdp} | "gone" (no such session) |
// "none" (the studio sends no sound back) | "refused" with a reason for the guest.
export async function postSoundOffer(fetchFn, returnAt, headers, sdp) {
  const { status, text } = await exchange(fetchFn, kindUrl(returnAt, "audio"), {
    method: "POST", headers: { ...headers, "Content-Type": "application/sdp" }, body: sdp,
  });
  if (status === 201) return { outcome: "answer", status, sdp: text };
  if (status === 404) return { outcome: "gone", status };
  if (status === 409) return { outcome: "none", status };
  return refused(status, text, status === 503 ? "the media server cannot send it now" : "the studio did not set it up");
}

// The picture, step one: the media server's offer. {outcome: "offer", sdp} | "none" (the
// studio sends no picture) | "refused".
export async function requestPicture(fetchFn, returnAt, headers) {
  const { status, text } = await exchange(fetchFn, kindUrl(returnAt, "video"), { method: "POST", headers: { ...headers } });
  if (status === 201) return { outcome: "offer", status, sdp: text };
  if (status === 404) return { outcome: "none", status };
  return refused(status, text, "the studio did not set it up");
}

// The picture, step two: the page's answer. {outcome: "done"} | "gone" | "refused".
export async function patchPictureAnswer(fetchFn, returnAt, headers, sdp) {
  const { status, text } = await exchange(fetchFn, kindUrl(returnAt, "video"), {
    method: "PATCH", headers: { ...headers, "Content-Type": "application/sdp" }, body: sdp,
  });
  if (status !== null && status >= 200 && status < 300) return { outcome: "done", status };
  if (status === 404) return { outcome: "gone", status };
  return refused(status, text, "the studio did not take this browser's answer");
}

// The phase a request that did not go through leaves its kind in: "gone" (no such session)
// quietly "off", "none" (the studio sends none of it), "refused: <reason>".
export function phaseAfter(reply) {
  if (reply.outcome === "refused") return "refused: " + reply.reason;
  return reply.outcome === "none" ? "none" : "off";
}

const reasonOf = (phase) => (phase.startsWith("refused: ") ? phase.slice(9).replace(/[.\s]+$/, "") : null);

// The note under the picture for a phase of the picture; null: what show() says stands.
export function pictureNote(phase) {
  if (phase === "connecting") return NOTES.waiting;
  if (phase === "none") return NOTES.noPicture;
  if (phase === "lost") return "The studio's picture stopped: its connection was lost.";
  const reason = reasonOf(phase);
  return reason ? "The studio's picture cannot come now: " + reason + "." : null;
}

// The sound's part of the note for a phase of the sound.
export function soundNote(phase) {
  if (phase === "none") return NOTES.noSound;
  if (phase === "lost") return "The studio's sound stopped: its connection was lost.";
  const reason = reasonOf(phase);
  return reason ? "You cannot hear the studio now: " + reason + "." : "";
}

export class SfuReturn {
  // feed: ReturnFeed. hooks: headers() (the token's), current() (the page's current
  // connection), iceServers() and stream() (the camera and microphone), PeerConnection and
  // fetchFn (the browser's when not given).
  constructor(feed, hooks) {
    this.feed = feed;
    this.hooks = hooks;
    this.PeerConnection = hooks.PeerConnection || globalThis.RTCPeerConnection;
    this.fetch = hooks.fetchFn || ((...args) => globalThis.fetch(...args));
    this.gatheringMs = hooks.gatheringMs || ICE_GATHERING_MS;
    this.run = 0; // a set of return connections' number: what an earlier set reports is dropped
    this.main = null;
    this.sound = null;
    this.picture = null;
    // Read by tests (window.guestSfuReturn.state). Each of audio and video: "off",
    // "connecting", "on", "none" (the studio sends none), "lost", "refused: <reason>".
    this.state = { audio: "off", video: "off", url: null, sets: 0 };
  }

  peers() { return [this.sound, this.picture].filter(Boolean); }

  // A connection became the current one: its own return plays and, when the studio named
  // a return through the SFU (returnAt), the sound and picture connections open.
  start(main, returnAt) {
    this.close();
    this.main = main;
    this.feed.show(main);
    if (!returnAt) return;
    const run = this.run;
    this.state.url = returnAt;
    this.state.sets += 1;
    this.state.audio = this.state.video = "connecting";
    this.show();
    this.openSound(run, returnAt);
    this.openPicture(run, returnAt);
  }

  // The connection went: its return connections close, nothing plays until the next.
  stop(note) {
    this.close();
    this.feed.clear(note);
  }

  close() {
    this.run += 1;
    for (const peer of this.peers()) {
      peer.onconnectionstatechange = null;
      peer.close(); // the microphone's track stays: the guest's own connection sends it
    }
    this.main = this.sound = this.picture = null;
    this.state.audio = this.state.video = "off";
    this.state.url = null;
  }

  live(run) { return this.run === run && this.main !== null && this.hooks.current() === this.main; }

  newPeer(run, slot) {
    const peer = new this.PeerConnection({ iceServers: this.hooks.iceServers() || [] });
    this[slot] = peer;
    peer.onconnectionstatechange = () => {
      if (peer.connectionState === "failed" && this.live(run) && this[slot] === peer) this.end(slot, "lost");
    };
    return peer;
  }

  // One kind ends without the call: its connection closes, the note says why.
  end(slot, phase) {
    const peer = this[slot];
    this[slot] = null;
    if (peer) { peer.onconnectionstatechange = null; peer.close(); }
    this.set(slot, phase);
  }

  set(slot, phase) {
    this.state[slot === "sound" ? "audio" : "video"] = phase;
    this.show();
  }

  show() {
    this.feed.show(this.main, ...this.peers());
    const picture = pictureNote(this.state.video);
    if (picture !== null) this.feed.note(picture);
    this.feed.noteSound(soundNote(this.state.audio));
  }

  async openSound(run, returnAt) {
    try {
      const peer = this.newPeer(run, "sound");
      const stream = this.hooks.stream();
      const track = stream && stream.getAudioTracks()[0];
      // The same microphone track as the guest's own connection: mute and device changes hold.
      if (track) peer.addTransceiver(track, { direction: "sendrecv", streams: [stream] });
      else peer.addTransceiver("audio", { direction: "recvonly" });
      await peer.setLocalDescription(await peer.createOffer());
      await waitForIceGathering(peer, this.gatheringMs);
      if (!this.live(run)) return;
      const reply = await postSoundOffer(this.fetch, returnAt, this.hooks.headers(), peer.localDescription.sdp);
      if (!this.live(run)) return;
      if (reply.outcome !== "answer") { this.end("sound", phaseAfter(reply)); return; }
      await peer.setRemoteDescription({ type: "answer", sdp: reply.sdp });
      if (this.live(run)) this.set("sound", "on");
    } catch (err) {
      if (this.live(run)) this.end("sound", browserRefusal(err));
    }
  }

  async openPicture(run, returnAt) {
    try {
      const offer = await requestPicture(this.fetch, returnAt, this.hooks.headers());
      if (!this.live(run)) return;
      if (offer.outcome !== "offer") { this.end("picture", phaseAfter(offer)); return; }
      const peer = this.newPeer(run, "picture");
      await peer.setRemoteDescription({ type: "offer", sdp: offer.sdp });
      await peer.setLocalDescription(await peer.createAnswer());
      await waitForIceGathering(peer, this.gatheringMs);
      if (!this.live(run)) return;
      const sent = await patchPictureAnswer(this.fetch, returnAt, this.hooks.headers(), peer.localDescription.sdp);
      if (!this.live(run)) return;
      if (sent.outcome !== "done") { this.end("picture", phaseAfter(sent)); return; }
      this.set("picture", "on");
    } catch (err) {
      if (this.live(run)) this.end("picture", browserRefusal(err));
    }
  }
}

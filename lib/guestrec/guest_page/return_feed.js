// What the studio sends back on the guest's own connection: the sound of the other guests
// and the studio (never the guest's own voice) and the studio's picture of everyone. The
// page offers its audio and video as sendrecv; the studio's answer says whether it sends
// each back. guest.js hands every connection that becomes the current one to show(),
// and clear() when it goes. Also the headphones choice, which decides whether the
// browser's echo cancellation is on. Nothing runs at import; the pure parts are tested in
// Node.

const VOLUME_KEY = "guestrec.returnVolume";
const HEADPHONES_KEY = "guestrec.headphones";

export const NOTES = Object.freeze({
  before: "The studio's picture appears here when you join.",
  waiting: "Waiting for the studio's picture…",
  noPicture: "The studio sends no picture.",
  reconnecting: "Reconnecting…",
});

// One short line under the headphones choice: what it does to the recording.
export function echoNote(headphones) {
  return headphones
    ? "With headphones, echo cancellation is off: your voice is recorded as it is."
    : "Please use headphones. Without them your browser's echo cancellation is on: the recording is a little less clean.";
}

// Which kinds the studio sends back, from the transceivers once its answer is in place
// (currentDirection is our side's: "sendrecv" or "recvonly" means we receive).
export function receiving(transceivers) {
  const out = { audio: false, video: false };
  for (const t of transceivers) {
    const kind = t.receiver && t.receiver.track && t.receiver.track.kind;
    if (kind in out && (t.currentDirection === "sendrecv" || t.currentDirection === "recvonly")) out[kind] = true;
  }
  return out;
}

// The incoming media in one statistics report (anything with forEach): per kind, what
// arrived and what was played. null for a kind nothing comes in for.
export function inboundSummary(report) {
  const out = { audio: null, video: null };
  report.forEach((s) => {
    if (s.type !== "inbound-rtp" || !(s.kind in out)) return;
    out[s.kind] = {
      packetsReceived: s.packetsReceived || 0, packetsLost: s.packetsLost || 0, bytesReceived: s.bytesReceived || 0,
      ...(s.kind === "audio"
        ? { samplesReceived: s.totalSamplesReceived || 0, concealedSamples: s.concealedSamples || 0 }
        : { framesDecoded: s.framesDecoded || 0, frameWidth: s.frameWidth || 0, frameHeight: s.frameHeight || 0 }),
    };
  });
  return out;
}

// A volume from storage (0..100 as text); 100 when there is none or it is not a number.
export function storedVolume(text) {
  const v = Number.parseFloat(text);
  return text !== null && text !== undefined && text !== "" && Number.isFinite(v) ? Math.min(100, Math.max(0, v)) : 100;
}

function load(storage, key) {
  try { return storage ? storage.getItem(key) : null; } catch (e) { return null; }
}

function save(storage, key, value) {
  try { if (storage) storage.setItem(key, value); } catch (e) { /* private mode */ }
}

// The guest's choice, kept for the next visit: "1" means headphones.
export function storedHeadphones(storage) {
  return load(storage, HEADPHONES_KEY) === "1";
}

export function keepHeadphones(storage, on) {
  save(storage, HEADPHONES_KEY, on ? "1" : "0");
}

export class ReturnFeed {
  // ui: {returnAudio, returnVideo, returnNote, returnVolume, returnPlay}; state: what tests
  // read (returnVolume, returnAudio, returnVideo); storage: localStorage or null.
  constructor(ui, state, storage) {
    this.ui = ui;
    this.state = state;
    this.storage = storage;
    this.peer = null;
    this.setVolume(storedVolume(load(storage, VOLUME_KEY)), false);
    ui.returnVolume.addEventListener("input", () => this.setVolume(Number(ui.returnVolume.value), true));
    ui.returnPlay.addEventListener("click", () => this.play());
    ui.returnVideo.addEventListener("resize", () => { if (ui.returnVideo.videoWidth) this.note(""); });
    this.note(NOTES.before);
  }

  // Volume 0..100 of the studio's sound on this computer (not what the studio records).
  setVolume(value, keep) {
    const v = Math.min(100, Math.max(0, Number.isFinite(value) ? value : 100));
    this.state.returnVolume = v;
    this.ui.returnVolume.value = String(v);
    this.ui.returnAudio.volume = v / 100;
    if (keep) save(this.storage, VOLUME_KEY, String(v));
  }

  // A Join press is a user gesture: starting the sound element in it lets it play later
  // in browsers that want a gesture for every element that plays sound.
  unlock() {
    const audio = this.ui.returnAudio;
    if (!audio.srcObject) audio.play().catch(() => {});
  }

  // The current connection, its studio answer in place: its incoming tracks play.
  show(peer) {
    this.peer = peer;
    const kinds = receiving(peer.getTransceivers());
    const track = (kind) => peer.getTransceivers()
      .map((t) => t.receiver && t.receiver.track).find((t) => t && t.kind === kind);
    const { returnAudio, returnVideo } = this.ui;
    returnAudio.srcObject = kinds.audio ? new MediaStream([track("audio")]) : null;
    returnVideo.srcObject = kinds.video ? new MediaStream([track("video")]) : null;
    this.state.returnAudio = kinds.audio;
    this.state.returnVideo = kinds.video;
    this.note(kinds.video ? NOTES.waiting : NOTES.noPicture);
    if (kinds.video) returnVideo.play().catch(() => {}); // muted: never refused
    if (kinds.audio) this.play();
  }

  // The sound starts; a browser that refuses (no gesture yet) gets a button to press.
  play() {
    const { returnAudio, returnPlay } = this.ui;
    if (!returnAudio.srcObject) { returnPlay.hidden = true; return; }
    returnAudio.play().then(() => { returnPlay.hidden = true; }, () => { returnPlay.hidden = false; });
  }

  // The connection went (a drop, hang-up, the studio's end): nothing plays until the next.
  clear(note) {
    this.peer = null;
    this.ui.returnAudio.srcObject = null;
    this.ui.returnVideo.srcObject = null;
    this.ui.returnPlay.hidden = true;
    this.state.returnAudio = this.state.returnVideo = false;
    this.note(note === undefined ? NOTES.before : note);
  }

  note(text) { this.ui.returnNote.textContent = text; }

  // What came in on the current connection (inboundSummary); read by tests.
  async stats() {
    if (!this.peer) return null;
    return inboundSummary(await this.peer.getStats());
  }
}

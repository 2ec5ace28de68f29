// What the studio sends back on the guest's own connection: the sound of the other guests
// and the studio (never the guest's own voice) and the studio's picture of everyone. The
// page offers its audio and video as sendrecv; the studio's answer says whether it sends
// each back. Through an SFU they come on extra connections instead (sfu_return.js), which
// show() takes beside the guest's own. Every connection that becomes the current one goes
// to show(), and clear() when it goes. Also the headphones choice, which decides whether
// the browser's echo cancellation is on. Nothing runs at import; the pure parts are tested
// in Node.

const VOLUME_KEY = "guestrec.returnVolume";
const HEADPHONES_KEY = "guestrec.headphones";

export const NOTES = Object.freeze({
  before: "The studio's picture appears here when you join.",
  waiting: "Waiting for the studio's picture…",
  noPicture: "The studio sends no picture.",
  reconnecting: "Reconnecting…",
  noSound: "The studio sends no sound back.",
});

// One short line under the headphones choice: what it does to the recording.
export function echoNote(headphones) {
  return headphones
    ? "With headphones, echo cancellation is off: your voice is recorded as it is."
    : "Please use headphones. Without them your browser's echo cancellation is on: the recording is a little less clean.";
}

// The first incoming track of each kind, from the transceivers once the studio's answer is
// in place (currentDirection is our side's: "sendrecv" or "recvonly" means we receive);
// null for a kind that does not come back.
export function receivedTracks(transceivers) {
  const out = { audio: null, video: null };
  for (const t of transceivers) {
    const track = t.receiver && t.receiver.track;
    const kind = track && track.kind;
    if (kind in out && !out[kind] && (t.currentDirection === "sendrecv" || t.currentDirection === "recvonly")) {
      out[kind] = track;
    }
  }
  return out;
}

// Which kinds the studio sends back.
export function receiving(transceivers) {
  const tracks = receivedTracks(transceivers);
  return { audio: !!tracks.audio, video: !!tracks.video };
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

// Two inboundSummary results as one (media that comes in on several connections): counts
// add up, the picture's size is the larger.
export function mergeInbound(a, b) {
  const out = {};
  for (const kind of ["audio", "video"]) {
    const [x, y] = [a[kind], b[kind]];
    if (!x || !y) { out[kind] = x || y || null; continue; }
    out[kind] = {};
    for (const key of Object.keys(x)) {
      out[kind][key] = key === "frameWidth" || key === "frameHeight" ? Math.max(x[key], y[key]) : x[key] + y[key];
    }
  }
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
    this.peers = []; // the connections what plays came in on
    this.tracks = { audio: null, video: null }; // what plays
    this.notes = { picture: "", sound: "" }; // the note under the picture is both, in turn
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

  // The current connection, its studio answer in place, and the extra connections the
  // studio's sound and picture come on through an SFU: the first incoming track of each
  // kind plays. Shown again as extra connections come, a track that already plays goes on.
  show(peer, ...extraPeers) {
    this.peers = [peer, ...extraPeers];
    const tracks = receivedTracks(this.peers.flatMap((p) => p.getTransceivers()));
    const newAudio = tracks.audio !== this.tracks.audio;
    const newVideo = tracks.video !== this.tracks.video;
    this.tracks = tracks;
    const { returnAudio, returnVideo } = this.ui;
    if (newAudio) returnAudio.srcObject = tracks.audio ? new MediaStream([tracks.audio]) : null;
    if (newVideo) returnVideo.srcObject = tracks.video ? new MediaStream([tracks.video]) : null;
    this.state.returnAudio = !!tracks.audio;
    this.state.returnVideo = !!tracks.video;
    if (!tracks.video) this.note(NOTES.noPicture);
    else if (newVideo) {
      this.note(NOTES.waiting);
      returnVideo.play().catch(() => {}); // muted: never refused
    }
    if (tracks.audio && newAudio) this.play();
  }

  // The sound starts; a browser that refuses (no gesture yet) gets a button to press.
  play() {
    const { returnAudio, returnPlay } = this.ui;
    if (!returnAudio.srcObject) { returnPlay.hidden = true; return; }
    returnAudio.play().then(() => { returnPlay.hidden = true; }, () => { returnPlay.hidden = false; });
  }

  // The connection went (a drop, hang-up, the studio's end): nothing plays until the next.
  clear(note) {
    this.peers = [];
    this.tracks = { audio: null, video: null };
    this.notes.sound = "";
    this.ui.returnAudio.srcObject = null;
    this.ui.returnVideo.srcObject = null;
    this.ui.returnPlay.hidden = true;
    this.state.returnAudio = this.state.returnVideo = false;
    this.note(note === undefined ? NOTES.before : note);
  }

  // The picture's note (the first picture clears it) and the sound's (kept until the next
  // connection): a guest without the studio's sound learns why even while the picture plays.
  note(text) { this.notes.picture = text; this.showNotes(); }

  noteSound(text) { this.notes.sound = text; this.showNotes(); }

  showNotes() {
    this.ui.returnNote.textContent = [this.notes.picture, this.notes.sound].filter(Boolean).join(" ");
  }

  // What came in on the current connections (inboundSummary, merged); read by tests.
  async stats() {
    if (!this.peers.length) return null;
    const summaries = await Promise.all(this.peers.map(async (p) => inboundSummary(await p.getStats())));
    return summaries.reduce(mergeInbound);
  }
}

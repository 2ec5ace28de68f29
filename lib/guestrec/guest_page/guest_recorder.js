// The recording made on the guest's own computer (the spec's sender-side &record).
// The studio asks for it over the data channel; MediaRecorder writes 0.5 s slices of one
// WebM/Matroska stream; every slice is kept in IndexedDB before it is sent and deleted
// only once the studio has acknowledged it, so a studio that is away, a lost network or a
// reloaded page loses nothing that was recorded. Slices go up in order over HTTP PUT with
// their byte offset. guest.js starts it (startGuestRecorder) and calls its hooks (apply,
// attach, stopAll, ...). Storage lives in recording_store.js, the live stream's side in
// recording_media.js. Nothing runs at import; the pure parts are tested in Node.

import { openDb, saveUpload, allUploads, storeChunk, chunkAt, dropChunks, forget } from "./recording_store.js";
import * as recMedia from "./recording_media.js";

const SLICE_MS = 500; // what a crash or reload can lose at most, give or take a frame
const REPORT_MS = 2000;
const MAX_BACKOFF_MS = 15000;
const EASED_PAUSE_MS = 3000; // between slices while the live stream is short of bandwidth

// The first type this browser's MediaRecorder can write, or null.
export function pickMime(types, isSupported) {
  for (const type of types || []) {
    if (isSupported(type)) return type;
  }
  return null;
}

// The pause before the next try after a failed upload: 0.5 s, doubling up to 15 s.
export function nextRetryMs(previousMs) {
  return Math.min(MAX_BACKOFF_MS, previousMs ? previousMs * 2 : 500);
}

// The upload to work on: oldest first (a recording from before a reload goes up before
// the new one), one with bytes to send or a finish to tell; refused and finished ones never.
export function nextUpload(uploads) {
  const list = Array.from(uploads).sort((a, b) => (a.startedMs || 0) - (b.startedMs || 0));
  return list.find((u) => !u.refused && !u.finished && (u.acked < u.stored || u.stopped)) || null;
}

// Starts the page's side of guest recordings (uploads left by an earlier visit included)
// and returns the hooks guest.js calls; `.state` is what tests read.
export function startGuestRecorder() {
  const state = {
    recording: false, id: null, mimeType: null, recordedBytes: 0, uploadedBytes: 0,
    pendingBytes: 0, error: null, finished: [], liveLimited: false, eased: 0, uploadsTried: 0,
  };
  const ui = () => document.getElementById("guest-rec");
  const keepBytes = () => !!globalThis.guestRecorderKeepBytes; // set by tests: the page hashes its bytes

  let recorder = null; // { id, rec, upload, chain, keep }
  let stream = null;
  let pc = null;
  let channel = null;
  let pumping = false;
  let pumpAgain = false;
  let backoffMs = 0;
  let lastSliceMs = 0; // when the last slice went out (uploads ease off, see pump)
  let retryTimer = null;
  const known = {}; // id -> upload: the page's own view, which storage follows
  const kept = {}; // id -> [Blob] while keepBytes() (tests read the hash)

  // -- recording ------------------------------------------------------------

  const canRecord = (type) => !!globalThis.MediaRecorder && MediaRecorder.isTypeSupported(type);

  async function start(msg) {
    if (!stream) { report("error", "no camera or microphone to record"); return; }
    const mimeType = pickMime(msg.mimeTypes, canRecord);
    if (!mimeType) { state.error = "this browser cannot record any of " + msg.mimeTypes.join(", "); report("error"); return; }
    if (navigator.storage && navigator.storage.persist) navigator.storage.persist().catch(() => {});
    // An audio/* type throws at start() on a stream that still has video.
    const tracks = msg.video ? stream.getTracks() : stream.getAudioTracks();
    const options = { mimeType: mimeType };
    if (msg.videoBitsPerSecond) options.videoBitsPerSecond = msg.videoBitsPerSecond;
    if (msg.audioBitsPerSecond) options.audioBitsPerSecond = msg.audioBitsPerSecond;
    const upload = {
      id: msg.id, url: new URL(msg.url, location.href).toString(), key: msg.key,
      mimeType: mimeType, recorded: 0, stored: 0, acked: 0, stopped: false, interrupted: null,
      startedMs: null, refused: null, finished: false,
    };
    const rec = new MediaRecorder(new MediaStream(tracks), options);
    known[upload.id] = upload;
    const entry = { id: msg.id, rec: rec, upload: upload, chain: saveUpload(upload), videoTrack: null };
    if (keepBytes()) kept[msg.id] = [];
    const videoTrack = entry.videoTrack = tracks.find((t) => t.kind === "video") || null;
    rec.onstart = () => { entry.chain = entry.chain.then(() => saveUpload(upload)); };
    rec.ondataavailable = (event) => {
      if (!event.data || !event.data.size) return;
      const blob = event.data;
      const offset = upload.recorded;
      upload.recorded += blob.size;
      if (kept[msg.id]) kept[msg.id].push(blob);
      entry.chain = entry.chain.then(() => storeChunk(upload, offset, blob)).then(pump, storageFailed);
    };
    rec.onstop = () => {
      // Stamped when stop() was called: this event can come late on a busy page.
      upload.stoppedMs = upload.stoppedMs || performance.timeOrigin + performance.now();
      const frames = upload.framesAtStop !== undefined ? upload.framesAtStop : recMedia.cameraFrames(videoTrack, state.sourceFrames);
      if (frames !== null && upload.framesAtStart !== null) upload.cameraFrames = frames - upload.framesAtStart;
      entry.chain = entry.chain.then(() => { upload.stopped = true; return saveUpload(upload); }).then(pump, storageFailed);
      if (recorder === entry) {  // not when a newer recording already took over
        recorder = null;
        state.recording = false;
      }
      show();
    };
    rec.onerror = (event) => { state.error = "the recorder failed: " + (event.error && event.error.message || event); report("error"); };
    recorder = entry;
    rec.start(SLICE_MS);
    // When recording began, on the page's clock (the start event can come late on a busy page).
    upload.startedMs = performance.timeOrigin + performance.now();
    upload.framesAtStart = recMedia.cameraFrames(videoTrack, state.sourceFrames);
    entry.began = performance.now();
    if (upload.framesAtStart === null) recMedia.readSourceFrames(pc, state).then(() => countFromStart(entry));
    state.recording = true; state.id = msg.id; state.mimeType = mimeType; state.error = null;
    show();
    report("recording");
  }

  // No count on the track and no report read yet when recording began (a browser without
  // track.stats, early in the call): the first reading that has one, carried back to then.
  function countFromStart(entry) {
    if (entry.upload.framesAtStart !== null || !entry.videoTrack || entry.upload.framesAtStop !== undefined) return;
    entry.upload.framesAtStart = recMedia.cameraFrames(entry.videoTrack, state.sourceFrames, entry.began);
  }

  function storageFailed(err) {
    state.error = "cannot keep the recording in this browser: " + (err && err.message || err);
    report("error");
    show();
  }

  function stop(reason) {
    const entry = recorder;
    if (!entry) return;
    if (reason) entry.upload.interrupted = reason;
    if (entry.rec.state !== "inactive") {
      entry.rec.stop();
      entry.upload.stoppedMs = performance.timeOrigin + performance.now();
      entry.upload.framesAtStop = recMedia.cameraFrames(entry.videoTrack, state.sourceFrames);
    }
  }

  // -- uploading --------------------------------------------------------------

  async function pump() {
    if (pumping) { pumpAgain = true; return; } // the running pump looks once more at the end
    pumping = true;
    pumpAgain = false;
    try {
      for (let round = 0; round < 100000; round++) {
        const upload = nextUpload(Object.values(known));
        if (!upload) break;
        const wait = lastSliceMs + EASED_PAUSE_MS - Date.now();
        if (state.liveLimited && upload.acked < upload.stored && wait > 0) {
          // Leave the bandwidth to the live stream: one slice now and then, the rest later.
          state.eased += 1;
          await new Promise((r) => setTimeout(r, wait));
        }
        if (upload.acked < upload.stored) lastSliceMs = Date.now();
        const ok = upload.acked < upload.stored ? await sendSlice(upload) : await finish(upload);
        if (!ok) { scheduleRetry(); break; }
        backoffMs = 0;
      }
    } catch (err) {
      state.error = "upload: " + (err && err.message || err);
      scheduleRetry();
    } finally {
      pumping = false;
      show();
    }
    if (pumpAgain && !backoffMs) pump();
  }

  function scheduleRetry() {
    backoffMs = nextRetryMs(backoffMs);
    clearTimeout(retryTimer);
    retryTimer = setTimeout(() => { retryTimer = null; pump(); }, backoffMs);
  }

  async function call(upload, method, url, body) {
    state.uploadsTried += 1;
    try {
      const r = await fetch(url, { method: method, body: body, headers: { "Authorization": "Bearer " + upload.key } });
      let reply = {};
      try { reply = await r.json(); } catch (e) { /* not JSON: a proxy's page */ }
      return { status: r.status, reply: reply };
    } catch (err) {
      return { status: 0, reply: { error: "the studio cannot be reached" } };
    }
  }

  async function answered(upload, result) {
    if (result.status === 200 || result.status === 409) {
      if (typeof result.reply.size === "number" && result.reply.size <= upload.recorded) {
        upload.acked = result.reply.size;
        await dropChunks(upload.id, upload.acked);
        await saveUpload(upload);
        return true;
      }
    }
    if ([403, 404, 410].includes(result.status)) {
      // The studio will never take these bytes; they stay in this browser.
      upload.refused = result.reply.error || ("HTTP " + result.status);
      state.error = "The studio no longer takes this recording (" + upload.refused + "); it stays in this browser.";
      await saveUpload(upload);
      return true;
    }
    state.error = result.reply.error ? "upload: " + result.reply.error : "upload: HTTP " + result.status;
    return false; // network, full disk, server trouble: retry with backoff
  }

  async function sendSlice(upload) {
    const chunk = await chunkAt(upload.id, upload.acked);
    if (!chunk || chunk.offset + chunk.size <= upload.acked) {
      // Storage is behind what the page counted (a write raced a crash): ask the studio.
      const before = upload.acked;
      const ok = await answered(upload, await call(upload, "GET", upload.url));
      return ok && upload.acked !== before;
    }
    const body = chunk.data.slice(upload.acked - chunk.offset);
    const result = await call(upload, "PUT", upload.url + "?offset=" + upload.acked, body);
    const ok = await answered(upload, result);
    if (ok && result.status === 200) state.error = null;
    return ok;
  }

  async function finish(upload) {
    const body = JSON.stringify({
      size: upload.recorded, mimeType: upload.mimeType, recorderStartedMs: upload.startedMs,
      interrupted: upload.interrupted, sha256: await sha256Of(upload.id),
      cameraFrames: upload.cameraFrames === undefined ? null : upload.cameraFrames,
    });
    const result = await call(upload, "POST", upload.url + "/finish", body);
    if (result.status === 200) {
      upload.finished = true;
      state.finished.push({
        id: upload.id, size: upload.recorded, file: result.reply.file, state: result.reply.state,
        startedMs: upload.startedMs, stoppedMs: upload.stoppedMs || null,
        cameraFrames: upload.cameraFrames === undefined ? null : upload.cameraFrames,
      });
      delete known[upload.id];
      await forget(upload);
      return true;
    }
    return answered(upload, result);
  }

  async function sha256Of(id) {
    if (!kept[id] || !crypto.subtle) return null;
    const bytes = await new Blob(kept[id]).arrayBuffer();
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
    return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  // -- what the guest and the studio see ----------------------------------------

  async function totals() {
    const uploads = Object.values(known).filter((u) => !u.finished && !u.refused);
    const recorded = uploads.reduce((s, u) => s + u.recorded, 0);
    const acked = uploads.reduce((s, u) => s + u.acked, 0);
    return { recorded: recorded, acked: acked, pending: recorded - acked };
  }

  async function show() {
    const t = await totals().catch(() => null);
    if (!t) return;
    const current = recorder ? recorder.upload : null;
    state.recordedBytes = current ? current.recorded : 0;
    state.uploadedBytes = current ? current.acked : 0;
    state.pendingBytes = t.pending;
    const el = ui();
    if (!el) return;
    const mb = (n) => Math.round(n / 1e6);
    if (current) {
      const pct = current.recorded ? Math.floor(current.acked / current.recorded * 100) : 100;
      el.textContent = "Recording on your computer, " + mb(current.recorded) + " MB, " + pct + "% uploaded";
    } else if (t.pending > 0) {
      el.textContent = "Uploading your recording: " + mb(t.pending) + " MB to go. Keep this page open.";
    } else {
      el.textContent = state.finished.length ? "Your recording is with the studio." : "";
    }
    if (state.error) el.textContent += " (" + state.error + ")";
    el.hidden = !el.textContent;
  }

  function captureSize() {
    const track = stream && stream.getVideoTracks()[0];
    const s = track ? track.getSettings() : {};
    return { captureWidth: s.width || null, captureHeight: s.height || null };
  }

  function report(kind, about) {
    // Also before any recording here: the studio sizes its own file by the camera's size.
    if (!channel || channel.readyState !== "open") return;
    const current = recorder && recorder.id === state.id ? recorder.upload : null;
    const message = Object.assign({
      type: "guest-recorder", id: about || state.id, state: kind || (current ? "recording" : state.id ? "stopped" : "idle"),
      mimeType: state.mimeType, recordedBytes: current ? current.recorded : state.recordedBytes,
      uploadedBytes: current ? current.acked : state.uploadedBytes, pendingBytes: state.pendingBytes,
      error: state.error, recorderStartedMs: current ? current.startedMs : null,
      pageTimeMs: performance.timeOrigin + performance.now(),
    }, captureSize());
    try { channel.send(JSON.stringify(message)); } catch (e) { /* closing */ }
  }

  setInterval(async () => {
    state.liveLimited = await recMedia.liveShortOfBandwidth(pc, state);
    if (recorder) countFromStart(recorder);
    if (!retryTimer) pump();
    report();
    show();
  }, REPORT_MS);

  // Leaving the page: hand over what the recorder holds; storage may still take it.
  window.addEventListener("pagehide", () => {
    if (recorder && recorder.rec.state === "recording") recorder.rec.requestData();
  });

  window.addEventListener("beforeunload", (event) => {
    if (recorder || state.pendingBytes > 0) { event.preventDefault(); event.returnValue = ""; }
  });

  // -- the hooks guest.js calls ------------------------------------------------------

  const hooks = {
    // The media, the peer connection and the data channel of the current join.
    attach(mediaStream, peer, dataChannel) {
      stream = mediaStream; pc = peer; channel = dataChannel;
      recMedia.keepResolution(peer);
      dataChannel.addEventListener("open", () => report());
    },
    // The studio's wanted state: reapplied as it comes, every time the channel opens.
    apply(msg) {
      if (msg.record) {
        if (recorder && recorder.id === msg.id) return;  // back after a drop: it goes on
        if (known[msg.id]) {
          // That recording's recorder was in an earlier visit of this page (a reload): it
          // ended there. The studio then asks for a new one.
          report("ended", msg.id);
          return;
        }
        if (recorder) stop(null); // the studio wants another recording: a new file
        start(msg).catch((err) => { state.error = String(err && err.message || err); report("error"); show(); });
      } else if (recorder && (!msg.id || msg.id === recorder.id)) {
        stop(null);
      }
    },
    stopAll(reason) { stop(reason); },
    recording() { return !!recorder && recorder.rec.state === "recording"; },
    // The guest picked another camera or microphone: the recorder's tracks are about to end.
    // This file ends here, complete; the page says so and the studio asks for a new one.
    mediaChanged(newStream) {
      stream = newStream;
      const entry = recorder;
      if (entry) stop(null);
      state.sourceFrames = undefined; // the old camera's count: not the new one's
      if (!entry) return;
      report("ended");
    },
    sha256: sha256Of,
    pump: pump,
    dbg: () => JSON.stringify({pumping, pumpAgain, backoffMs, retry: !!retryTimer, rec: recorder && recorder.upload}),
    state: state,
  };

  // Uploads left by an earlier visit of this link: their recorder is gone, so they end
  // where their stored bytes end; send the rest and finish them.
  openDb().then(allUploads).then(async (uploads) => {
    for (const upload of uploads) {
      upload.stored = upload.recorded;
      known[upload.id] = upload;
      if (!upload.stopped) {
        upload.stopped = true;
        upload.interrupted = upload.interrupted || "the page was closed or reloaded while recording";
        await saveUpload(upload);
      }
    }
    show();
    pump();
  }).catch(storageFailed);
  return hooks;
}

// Guest page: camera + microphone to the studio over WHIP, with the studio's
// recording state shown from its data-channel messages. Plain script, no build step.
"use strict";

(function () {
  const params = new URLSearchParams(location.search);
  const token = params.get("token") || "";
  const $ = (id) => document.getElementById(id);
  const ui = {
    name: $("name"), join: $("join"), hangup: $("hangup"), form: $("join-form"),
    preview: $("preview"), note: $("preview-note"), status: $("status"),
    error: $("error"), file: $("file"), rec: $("rec-state"), recText: $("rec-text"),
  };

  // Read by tests and handy when debugging in the console.
  const state = window.guestState = {
    media: false, joined: false, connected: false, recording: false,
    file: null, answerSdp: null, error: null, httpStatus: null, messages: [],
    guest: null, // the name the studio gave us
    reconnecting: false, reconnects: 0, reconnectAttempts: 0, ended: false,
    connectMs: null, reconnectMs: null, // join -> connected, drop noticed -> connected again
    connectionLog: [], // [ms since page load, connection state], the newest 50
    dropNoticedAt: null, // ms since page load when the last drop was noticed
  };

  let stream = null;
  let pc = null;
  let resource = null; // the WHIP session URL from the Location header

  ui.name.value = (params.get("name") || "").slice(0, 64);

  function showError(text) {
    state.error = text || null;
    ui.error.textContent = text;
    ui.error.hidden = !text;
  }

  function setStatus(text) { ui.status.textContent = text; }

  function setRecording(on, file) {
    state.recording = !!on;
    state.file = on ? (file || null) : null;
    ui.rec.classList.toggle("on", !!on);
    ui.rec.classList.toggle("off", !on);
    ui.recText.textContent = on ? "You are being recorded" : "Not recorded";
    ui.file.hidden = !(on && file);
    ui.file.textContent = on && file ? "Studio file: " + file : "";
  }

  function authHeaders(extra) {
    const headers = Object.assign({}, extra || {});
    if (token) headers["Authorization"] = "Bearer " + token;
    return headers;
  }

  async function startMedia() {
    const constraints = {
      // Raw sound for recording: the browser's voice processing would colour it.
      audio: {
        echoCancellation: false, noiseSuppression: false, autoGainControl: false,
        channelCount: { ideal: 2 }, sampleRate: { ideal: 48000 },
      },
      video: { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 } },
    };
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      throw new Error("This browser cannot use a camera here. Open the page over https:// or on localhost.");
    }
    try {
      stream = await navigator.mediaDevices.getUserMedia(constraints);
    } catch (err) {
      if (err && (err.name === "NotAllowedError" || err.name === "SecurityError")) {
        throw new Error("Camera and microphone were refused. Allow them for this page (the icon in the address bar) and reload.");
      }
      if (err && err.name === "NotFoundError") {
        throw new Error("No camera or microphone was found.");
      }
      if (err && err.name === "NotReadableError") {
        throw new Error("The camera or microphone is busy in another program.");
      }
      throw new Error("Could not start camera and microphone: " + (err && err.message || err));
    }
    ui.preview.srcObject = stream;
    state.media = true;
  }

  function waitForIceGathering(peer, timeoutMs) {
    if (peer.iceGatheringState === "complete") return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => { peer.removeEventListener("icegatheringstatechange", check); resolve(); };
      const check = () => { if (peer.iceGatheringState === "complete") done(); };
      peer.addEventListener("icegatheringstatechange", check);
      setTimeout(done, timeoutMs); // send what we have rather than hang
    });
  }

  // ---- Resume credential -------------------------------------------------------
  // The studio's 201 carries a secret that gives this guest its name, OBS source and
  // recording back after a dropped connection. Kept per tab (sessionStorage), per name
  // typed, together with the name the studio actually gave ("Alice 2" for a second Alice).

  const RESUME_KEY = "guestrec.resume";
  const resumeStore = {
    all() {
      try { return JSON.parse(sessionStorage.getItem(RESUME_KEY) || "{}") || {}; } catch (e) { return {}; }
    },
    get(typed) { return this.all()[typed] || null; },
    put(typed, name, secret) {
      const all = this.all();
      all[typed] = { name: name, secret: secret };
      try { sessionStorage.setItem(RESUME_KEY, JSON.stringify(all)); } catch (e) { /* private mode */ }
    },
    drop(typed) {
      const all = this.all();
      delete all[typed];
      try { sessionStorage.setItem(RESUME_KEY, JSON.stringify(all)); } catch (e) { /* private mode */ }
    },
  };

  // ---- Studio messages -----------------------------------------------------------

  function onMessage(event, channel) {
    let msg;
    try { msg = JSON.parse(event.data); } catch (e) { return; }
    state.messages.push(msg);
    if (msg.type === "recording") {
      setRecording(msg.recording, msg.file);
    } else if (msg.type === "error") {
      showError("The studio reports: " + msg.message);
    } else if (msg.type === "ended") {
      // Confirm first: the studio closes the connection once it knows we heard it.
      try { channel.send(JSON.stringify({ type: "ended-ack" })); } catch (e) { /* closing */ }
      studioEnded();
    }
  }

  function studioEnded() {
    state.ended = true;
    const typed = ui.name.value.trim();
    resumeStore.drop(typed); // nothing to resume: the studio ended it
    leave(false).then(() => setStatus("The studio ended the session."));
  }

  // ---- One connection to the studio ----------------------------------------------

  // Opens a peer connection and posts its offer; resolves with the peer once the
  // studio answered (201), rejects with an Error carrying `httpStatus` otherwise.
  async function connect(typed, onState) {
    const peer = new RTCPeerConnection({ iceServers: [] });
    try {
      const channel = peer.createDataChannel("guestrec");
      channel.onmessage = (event) => { if (pc === peer) onMessage(event, channel); };
      for (const track of stream.getTracks()) {
        peer.addTransceiver(track, { direction: "sendonly", streams: [stream] });
      }
      peer.onconnectionstatechange = () => { if (pc === peer) onState(peer.connectionState); };
      await peer.setLocalDescription(await peer.createOffer());
      await waitForIceGathering(peer, 3000); // WHIP without trickle: all candidates in the offer

      const saved = resumeStore.get(typed);
      const name = saved ? saved.name : typed;
      const headers = { "Content-Type": "application/sdp" };
      if (saved) headers["Guestrec-Resume"] = saved.secret;
      const whipUrl = new URL("whip/" + encodeURIComponent(name), location.href);
      const response = await fetch(whipUrl, {
        method: "POST", headers: authHeaders(headers), body: peer.localDescription.sdp,
      });
      state.httpStatus = response.status;
      const text = await response.text();
      if (response.status !== 201) {
        const reason = text.trim() || response.statusText;
        const err = new Error("The studio said no (HTTP " + response.status + "): " + reason);
        err.httpStatus = response.status;
        throw err;
      }
      const given = decodeURIComponent(response.headers.get("Guestrec-Name") || encodeURIComponent(name));
      const secret = response.headers.get("Guestrec-Resume");
      if (secret) resumeStore.put(typed, given, secret);
      state.guest = given;
      resource = new URL(response.headers.get("Location"), whipUrl).toString();
      state.answerSdp = text;
      await peer.setRemoteDescription({ type: "answer", sdp: text });
      return peer;
    } catch (err) {
      peer.onconnectionstatechange = null;
      peer.close();
      throw err;
    }
  }

  async function join(event) {
    event.preventDefault();
    const typed = ui.name.value.trim();
    if (!typed) { ui.name.focus(); return; }
    if (!stream) return;
    showError("");
    state.ended = false;
    ui.join.disabled = true;
    ui.name.disabled = true;
    setStatus("Connecting…");
    const started = performance.now();
    const generation = ++session;
    try {
      pc = await connect(typed, (s) => onConnectionState(s, typed));
      if (generation !== session) { pc.close(); return; }
      state.joined = true;
      ui.hangup.disabled = false;
      setStatus("Joined. Waiting for the connection…");
      whenConnected(() => { state.connectMs = Math.round(performance.now() - started); });
    } catch (err) {
      if (generation !== session) return;
      showError(err.message || String(err));
      await leave(false);
    }
  }

  let onConnectedOnce = null;
  function whenConnected(fn) { onConnectedOnce = fn; }

  function onConnectionState(s, typed) {
    state.connectionLog.push([Math.round(performance.now()), s]);
    if (state.connectionLog.length > 50) state.connectionLog.shift();
    state.connected = s === "connected";
    if (s === "connected") {
      clearTimeout(dropTimer);
      dropTimer = null;
      everConnected = true;
      watchForSilence(pc, typed);
      if (onConnectedOnce) { onConnectedOnce(); onConnectedOnce = null; }
      if (!state.reconnecting) setStatus("Connected to the studio as " + (state.guest || typed) + ".");
    } else if (s === "failed") {
      if (everConnected) startReconnect(typed);
      else if (!state.reconnecting) { showError("The connection to the studio failed."); leave(false); }
    } else if (s === "disconnected" && everConnected && !state.reconnecting) {
      setStatus("Connection interrupted…");
      // A short blip heals by itself; a longer one (a Wi-Fi change) needs a new connection.
      clearTimeout(dropTimer);
      dropTimer = setTimeout(() => { dropTimer = null; startReconnect(typed); }, DROP_AFTER_MS);
    }
  }

  // ---- Reconnect -----------------------------------------------------------------
  // A connection that worked and then dropped is replaced by a new one, under the same
  // name (the resume secret), with growing pauses between tries, for at most
  // RECONNECT_FOR_MS. The old connection is closed without a DELETE: a DELETE would tell
  // the studio the guest left, and it would end the recording instead of continuing it.

  const DROP_AFTER_MS = 3000; // "disconnected" this long counts as a drop
  const ATTEMPT_TIMEOUT_MS = 10000; // one try's time to connect
  const RECONNECT_FOR_MS = 120000; // then give up and say so
  const BACKOFF_MS = [500, 1000, 2000, 4000, 8000];
  let session = 0; // bumped by every join and leave: a stale loop stops itself
  let dropTimer = null;
  let everConnected = false;

  // The studio sends something every second or so (RTCP reports, ICE consent checks),
  // while Chromium calls a dead link "disconnected" only after 5-7 s: a connection that
  // received nothing for SILENCE_MS is taken as dropped sooner.
  const SILENCE_MS = 4000;
  let silenceWatch = null;

  function watchForSilence(peer, typed) {
    stopSilenceWatch();
    if (!peer) return;
    let lastBytes = -1;
    let lastChange = performance.now();
    silenceWatch = setInterval(async () => {
      let bytes = 0;
      try {
        (await peer.getStats()).forEach((s) => { if (s.type === "transport") bytes += s.bytesReceived || 0; });
      } catch (e) { return; }
      if (pc !== peer || state.reconnecting) return;
      const now = performance.now();
      if (bytes !== lastBytes) { lastBytes = bytes; lastChange = now; }
      else if (now - lastChange > SILENCE_MS) startReconnect(typed);
    }, 1000);
  }

  function stopSilenceWatch() { clearInterval(silenceWatch); silenceWatch = null; }

  function sleep(ms) { return new Promise((resolve) => setTimeout(resolve, ms)); }

  function waitConnected(peer, ms) {
    return new Promise((resolve) => {
      const until = Date.now() + ms;
      const poll = () => {
        if (peer.connectionState === "connected") resolve(true);
        else if (peer.connectionState === "failed" || peer.connectionState === "closed" || Date.now() > until) resolve(false);
        else setTimeout(poll, 100);
      };
      poll();
    });
  }

  async function startReconnect(typed) {
    if (state.reconnecting || state.ended || !state.joined) return;
    clearTimeout(dropTimer);
    dropTimer = null;
    stopSilenceWatch();
    const generation = session;
    const dropped = performance.now();
    state.dropNoticedAt = Math.round(dropped);
    state.reconnecting = true;
    state.connected = false;
    setStatus("Reconnecting…");
    const old = pc;
    pc = null;
    if (old) { old.onconnectionstatechange = null; old.close(); }
    for (let attempt = 0; ; attempt++) {
      await sleep(BACKOFF_MS[Math.min(attempt, BACKOFF_MS.length - 1)]);
      if (generation !== session || state.ended) return;
      if (performance.now() - dropped > RECONNECT_FOR_MS) break;
      state.reconnectAttempts += 1;
      let peer = null;
      try {
        peer = await connect(typed, (s) => onConnectionState(s, typed));
      } catch (err) {
        if (generation !== session) return;
        // A refusal that another try cannot change (token, bad offer): stop here.
        if (err.httpStatus && err.httpStatus !== 503 && err.httpStatus !== 500) {
          state.reconnecting = false;
          showError(err.message);
          await leave(false);
          return;
        }
        continue; // studio unreachable or full: try again
      }
      if (generation !== session) { peer.close(); return; }
      pc = peer;
      if (await waitConnected(peer, ATTEMPT_TIMEOUT_MS)) {
        if (generation !== session) return;
        state.reconnecting = false;
        state.reconnects += 1;
        state.reconnectMs = Math.round(performance.now() - dropped);
        state.connected = peer.connectionState === "connected";
        setStatus("Connected to the studio as " + state.guest + " (reconnected).");
        return;
      }
      if (generation !== session) return;
      pc = null;
      peer.onconnectionstatechange = null;
      peer.close();
    }
    state.reconnecting = false;
    showError("The connection to the studio was lost and could not be restored. Press Join to try again.");
    await leave(false);
  }

  async function leave(sendDelete) {
    session += 1;
    clearTimeout(dropTimer);
    dropTimer = null;
    stopSilenceWatch();
    everConnected = false;
    onConnectedOnce = null;
    state.reconnecting = false;
    const url = resource;
    resource = null;
    const closing = pc;
    pc = null;
    if (closing) {
      // From here on this connection's events are not the page's business.
      closing.onconnectionstatechange = null;
    }
    state.joined = false;
    state.connected = false;
    setRecording(false);
    ui.hangup.disabled = true;
    ui.join.disabled = !stream;
    ui.name.disabled = false;
    if (sendDelete && url) {
      // DELETE before closing: a closed connection can reach the studio first, which
      // then ends the session on its own and answers the DELETE with 404.
      setStatus("Leaving…");
      resumeStore.drop(ui.name.value.trim()); // left on purpose: nothing to resume
      try {
        const r = await fetch(url, { method: "DELETE", headers: authHeaders() });
        setStatus(r.ok ? "You left the studio." : "Left (the studio answered " + r.status + ").");
      } catch (err) {
        setStatus("Left (the studio could not be reached).");
      }
    } else {
      setStatus("Not connected.");
    }
    if (closing) closing.close();
  }

  ui.form.addEventListener("submit", join);
  ui.hangup.addEventListener("click", () => leave(true));
  // Closing the tab hangs up too; keepalive lets the request outlive the page.
  window.addEventListener("pagehide", () => {
    if (resource) fetch(resource, { method: "DELETE", headers: authHeaders(), keepalive: true });
  });

  if (!token) showError("This link has no token: ask the studio for the full guest link.");
  startMedia().then(() => {
    ui.note.textContent = "";
    ui.join.disabled = false;
  }).catch((err) => {
    ui.note.textContent = "No camera";
    showError(err.message);
  });
})();

// Guest page: camera + microphone to the studio over WHIP, with the studio's
// recording state and requests (mute, messages, hang-up) from its data-channel messages.
// The link and the studio's HTTP side live in guest_link.js, what the page shows in
// guest_view.js, devices in devices.js, connection quality in quality.js, coming back
// after a dropped connection in reconnect.js. Plain script, no build step.
"use strict";

(function () {
  const { params, token, authHeaders, fetchIceServers, waitForIceGathering, postOffer, eventsUrl,
    MEDIA_WAIT_MS, MEDIA_UNREACHABLE } = window.GuestLink; // see guest_link.js
  const devices = window.GuestDevices;
  const reconnect = window.GuestReconnect;

  // Read by tests and handy when debugging in the console.
  const state = window.guestState = {
    media: false, joined: false, connected: false, recording: false,
    file: null, answerSdp: null, error: null, httpStatus: null, messages: [],
    guest: null, muted: false, cameraOff: false, level: 0, quality: null, devices: null,
    studioMessage: null,
    iceServers: null, mediaUnreachable: false,
    reconnecting: false, reconnects: 0, reconnectAttempts: 0, ended: false,
    connectMs: null, reconnectMs: null, // Join -> connected; drop noticed -> connected again
    dropNoticedAt: null, // performance.now() of the last drop noticed
  };

  const { ui, showError, setStatus, setRecording, showStudioMessage } = window.GuestView(state);

  let stream = null;
  let pc = null;
  let resource = null; // the WHIP session URL from the Location header
  let channel = null;
  let stopMeter = () => {};
  let stopQuality = () => {};
  let stopDropWatch = () => {};
  let session = 0; // bumped by every join and leave: a stale rejoin loop stops itself
  let everConnected = false; // the current join had a working connection (a drop is then rejoined)

  ui.name.value = (params.get("name") || "").slice(0, 64);

  function tellStudio() {
    if (channel && channel.readyState === "open") {
      channel.send(JSON.stringify({ type: "state", muted: state.muted, camera_off: state.cameraOff }));
    }
  }

  function setMuted(on) {
    state.muted = !!on;
    if (stream) stream.getAudioTracks().forEach((t) => { t.enabled = !on; });
    ui.mute.setAttribute("aria-pressed", String(!!on));
    ui.mute.textContent = on ? "Unmute microphone" : "Mute microphone";
    tellStudio();
  }

  function setCameraOff(on) {
    state.cameraOff = !!on;
    if (stream) stream.getVideoTracks().forEach((t) => { t.enabled = !on; });
    ui.cameraOff.setAttribute("aria-pressed", String(!!on));
    ui.cameraOff.textContent = on ? "Turn camera on" : "Turn camera off";
    tellStudio();
  }

  async function startMedia(cameraId, micId) {
    const fresh = await devices.open(cameraId, micId);
    const old = stream;
    stream = fresh;
    if (window.guestRecorder) window.guestRecorder.mediaChanged(fresh); // see guest_recorder.js
    fresh.getAudioTracks().forEach((t) => { t.enabled = !state.muted; });
    fresh.getVideoTracks().forEach((t) => { t.enabled = !state.cameraOff; });
    if (pc) {
      // Joined: swap the tracks in place, the studio keeps the same connection.
      for (const sender of pc.getSenders()) {
        const track = sender.track && fresh.getTracks().find((t) => t.kind === sender.track.kind);
        if (track) await sender.replaceTrack(track);
      }
    }
    devices.stop(old);
    ui.preview.srcObject = fresh;
    stopMeter();
    stopMeter = devices.meter(fresh, (level) => {
      state.level = state.muted ? 0 : level;
      ui.level.value = state.level;
    });
    state.devices = await devices.listInto(ui.camera, ui.microphone, fresh);
    state.media = true;
    ui.mute.disabled = ui.cameraOff.disabled = false;
  }

  function releaseMedia() {
    stopMeter();
    stopMeter = () => {};
    devices.stop(stream);
    stream = null;
    state.media = false;
    ui.preview.srcObject = null;
    ui.level.value = 0;
    ui.camera.disabled = ui.microphone.disabled = true;
    ui.mute.disabled = ui.cameraOff.disabled = true;
    ui.note.textContent = "Camera off";
  }

  function mediaUnreachable(peer) {
    if (pc !== peer) return;
    state.mediaUnreachable = true;
    showError(MEDIA_UNREACHABLE);
    leave(true); // the studio then logs which candidates each side had
  }

  function watchMedia(peer) {
    setTimeout(() => {
      if (pc === peer && peer.connectionState !== "connected") mediaUnreachable(peer);
    }, MEDIA_WAIT_MS);
  }

  function onMessage(event, from) {
    let msg;
    try { msg = JSON.parse(event.data); } catch (e) { return; }
    state.messages.push(msg);
    if (msg.type === "recording") {
      setRecording(msg.recording, msg.file);
      if (msg.guest && msg.guest !== state.guest) {
        state.guest = msg.guest;
        if (state.connected) setStatus("Connected to the studio as " + msg.guest + ".");
      }
    } else if (msg.type === "guest-recording" && window.guestRecorder) {
      window.guestRecorder.apply(msg); // the recording on this computer, see guest_recorder.js
    } else if (msg.type === "error") {
      showError("The studio reports a problem: " + msg.message);
    } else if (msg.type === "mute") {
      setMuted(!!msg.mute);
      showStudioMessage(msg.mute ? "The studio muted your microphone. Press Unmute when you want to speak."
                                 : "The studio asks you to unmute: your microphone is on again.");
    } else if (msg.type === "message") {
      showStudioMessage("Message from the studio: " + msg.text);
    } else if (msg.type === "bitrate" && pc) {
      setVideoBitrate(msg.kbps);
    } else if (msg.type === "hangup" || msg.type === "ended") {
      // Confirm first: the studio closes the connection once it knows we heard it.
      try { from.send(JSON.stringify({ type: "ended-ack" })); } catch (e) { /* closing */ }
      studioEnded(msg.type === "hangup");
    }
  }

  // The studio ended the session (the operator hung up, OBS or the server stopped):
  // nothing to come back to.
  function studioEnded(hungUp) {
    if (window.guestRecorder) window.guestRecorder.stopAll(null); // ends this computer's recording too
    state.ended = true;
    reconnect.resume.drop(ui.name.value.trim());
    if (hungUp) showStudioMessage("The studio ended your call. Thank you!");
    leave(false, hungUp ? "The studio ended the call." : "The studio ended the session.");
  }

  async function setVideoBitrate(kbps) {
    for (const sender of pc.getSenders()) {
      if (!sender.track || sender.track.kind !== "video") continue;
      const params = sender.getParameters();
      if (!params.encodings || !params.encodings.length) params.encodings = [{}];
      params.encodings[0].maxBitrate = kbps * 1000;
      try { await sender.setParameters(params); } catch (e) { /* keep the current rate */ }
    }
  }

  // One connection to the studio: ICE servers, peer, data channel, offer, the studio's
  // answer. Resolves with the peer (not yet connected) and makes it the page's current
  // one; rejects with an Error (err.final when trying again cannot help).
  async function connect(typed) {
    let iceServers;
    try {
      iceServers = await fetchIceServers(typed, state);
    } catch (err) {
      err.final = state.httpStatus >= 400 && state.httpStatus < 500;
      throw err;
    }
    const peer = new RTCPeerConnection({ iceServers: iceServers });
    try {
      const ch = peer.createDataChannel("guestrec");
      ch.onmessage = (event) => { if (pc === peer) onMessage(event, ch); };
      ch.onopen = () => { if (pc === peer) tellStudio(); };
      for (const track of stream.getTracks()) {
        peer.addTransceiver(track, { direction: "sendonly", streams: [stream] });
      }
      if (window.guestRecorder) window.guestRecorder.attach(stream, peer, ch);
      peer.onconnectionstatechange = () => { if (pc === peer) onConnectionState(peer, typed); };
      await peer.setLocalDescription(await peer.createOffer());
      await waitForIceGathering(peer, 3000); // WHIP without trickle: all candidates in the offer

      // Back after a drop: the studio's secret gets this guest its name, source and take.
      const saved = reconnect.resume.get(typed);
      const { response, text, whipUrl } = await postOffer(
        saved ? saved.name : typed, saved && saved.secret, peer.localDescription.sdp, state,
        (seconds) => setStatus("The studio is letting other guests in; trying again in " + seconds + " s…"));
      const given = response.headers.get("Guestrec-Name");
      const secret = response.headers.get("Guestrec-Resume");
      if (given) state.guest = decodeURIComponent(given);
      if (secret) reconnect.resume.put(typed, state.guest || typed, secret);
      resource = new URL(response.headers.get("Location"), whipUrl).toString();
      watchStudioEvents(response.headers.get("Link"), whipUrl);
      state.answerSdp = text;
      await peer.setRemoteDescription({ type: "answer", sdp: text });
      pc = peer;
      channel = ch;
      return peer;
    } catch (err) {
      peer.onconnectionstatechange = null;
      peer.close();
      throw err;
    }
  }

  function onConnectionState(peer, typed) {
    const s = peer.connectionState;
    state.connected = s === "connected";
    if (s === "connected") {
      if (!everConnected) state.connectMs = Math.round(performance.now() - joinStarted);
      everConnected = true;
      stopDropWatch();
      stopDropWatch = reconnect.watchDrop(peer, () => startReconnect(typed));
      if (!state.reconnecting) setStatus("Connected to the studio as " + (state.guest || typed) + ".");
    } else if (s === "failed" && !everConnected) {
      mediaUnreachable(peer);
    } else if (s === "disconnected" && !state.reconnecting) {
      setStatus("Connection interrupted…");
    }
  }

  function watchQuality(peer) {
    stopQuality();
    stopQuality = window.GuestQuality.watch(peer, (q) => {
      state.quality = q;
      ui.quality.hidden = false;
      ui.quality.className = "quality " + q.level;
      ui.quality.textContent = q.text;
    });
  }

  let joinStarted = 0;

  async function join(event) {
    event.preventDefault();
    const name = ui.name.value.trim();
    if (!name) { ui.name.focus(); return; }
    showError("");
    showStudioMessage("");
    if (!stream) {
      try { await startMedia(ui.camera.value, ui.microphone.value); } catch (err) { showError(err.message); return; }
      ui.note.textContent = "";
    }
    ui.join.disabled = true;
    ui.name.disabled = true;
    state.ended = false;
    everConnected = false;
    joinStarted = performance.now();
    const generation = ++session;
    setStatus("Connecting…");
    try {
      const peer = await connect(name);
      if (generation !== session) { peer.close(); return; }
      watchMedia(peer);
      state.joined = true;
      ui.hangup.disabled = false;
      watchQuality(peer);
      if (peer.connectionState !== "connected") setStatus("Joined. Waiting for the connection…");
    } catch (err) {
      if (generation !== session) return;
      showError(err.message || String(err));
      await leave(false);
    }
  }

  // A connection that worked and then dropped is replaced by a new one under the same
  // name. The old one is closed without a DELETE: a DELETE tells the studio the guest
  // left, which would end the recording instead of continuing it.
  async function startReconnect(typed) {
    if (state.reconnecting || state.ended || !state.joined) return;
    const generation = session;
    const noticed = performance.now();
    state.reconnecting = true;
    state.connected = false;
    state.dropNoticedAt = Math.round(noticed);
    setStatus("Reconnecting…");
    stopDropWatch();
    stopQuality();
    const old = pc;
    pc = null;
    channel = null;
    if (old) { old.onconnectionstatechange = null; old.close(); }
    const discard = (peer) => {
      if (pc === peer) { pc = null; channel = null; }
      peer.onconnectionstatechange = null;
      peer.close();
    };
    let peer = null;
    try {
      peer = await reconnect.rejoin({
        attempt: () => { state.reconnectAttempts += 1; return connect(typed); },
        wanted: () => generation === session && !state.ended,
        discard: discard,
      });
    } catch (err) {
      if (generation !== session) return;
      state.reconnecting = false;
      showError(err.message || String(err));
      await leave(false);
      return;
    }
    if (generation !== session) return;
    state.reconnecting = false;
    if (!peer) {
      showError("The connection to the studio was lost and could not be restored. Press Join to try again.");
      await leave(false);
      return;
    }
    state.reconnects += 1;
    state.reconnectMs = Math.round(performance.now() - noticed);
    state.connected = peer.connectionState === "connected";
    watchQuality(peer);
    setStatus("Connected to the studio as " + (state.guest || typed) + " (reconnected).");
  }

  // Through an SFU the data channel ends at the media server: the studio then names an
  // event stream for the recording state (Link header, rel="urn:guestrec:events").
  let events = null;
  function watchStudioEvents(link, base) {
    if (events) { events.close(); events = null; }
    const url = eventsUrl(link, base);
    if (!url) return;
    events = new EventSource(url);
    events.onmessage = onMessage;
  }

  async function leave(sendDelete, why) {
    if (events) { events.close(); events = null; }
    session += 1;
    stopDropWatch();
    stopDropWatch = () => {};
    state.reconnecting = false;
    everConnected = false;
    if (sendDelete) reconnect.resume.drop(ui.name.value.trim()); // left on purpose
    const url = resource;
    resource = null;
    const closing = pc;
    pc = null;
    channel = null;
    stopQuality();
    stopQuality = () => {};
    ui.quality.hidden = true;
    if (closing) {
      // From here on this connection's events are not the page's business.
      closing.onconnectionstatechange = null;
    }
    const wasIn = state.joined || !!closing; // also between two tries of a rejoin
    state.joined = false;
    state.connected = false;
    setRecording(false);
    ui.hangup.disabled = true;
    ui.name.disabled = false;
    // The camera light goes off when the call ends, unless this computer still records.
    if (wasIn && !(window.guestRecorder && window.guestRecorder.recording())) releaseMedia();
    ui.join.disabled = false;
    if (sendDelete && url) {
      // DELETE before closing: a closed connection can reach the studio first, which
      // then ends the session on its own and answers the DELETE with 404.
      setStatus("Leaving…");
      try {
        const r = await fetch(url, { method: "DELETE", headers: authHeaders() });
        setStatus(r.ok ? "You left the studio." : "Left (the studio answered " + r.status + ").");
      } catch (err) {
        setStatus("Left (the studio could not be reached).");
      }
    } else {
      setStatus(why || "Not connected.");
    }
    if (closing) closing.close();
  }

  ui.form.addEventListener("submit", join);
  ui.mute.addEventListener("click", () => setMuted(!state.muted));
  ui.cameraOff.addEventListener("click", () => setCameraOff(!state.cameraOff));
  const switchDevice = () => startMedia(ui.camera.value, ui.microphone.value).catch((err) => showError(err.message));
  ui.camera.addEventListener("change", switchDevice);
  ui.microphone.addEventListener("change", switchDevice);
  // Hanging up stops the recording on this computer (before the camera is let go); a
  // failed connection does not: it goes on and uploads when the studio is back.
  ui.hangup.addEventListener("click", () => { if (window.guestRecorder) window.guestRecorder.stopAll(null); });
  ui.hangup.addEventListener("click", () => leave(true));
  // Closing the tab hangs up too; keepalive lets the request outlive the page.
  window.addEventListener("pagehide", () => {
    if (!resource) return;
    reconnect.resume.drop(ui.name.value.trim()); // the guest left: nothing to resume
    fetch(resource, { method: "DELETE", headers: authHeaders(), keepalive: true });
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

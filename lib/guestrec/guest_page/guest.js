// Guest page: camera + microphone to the studio over WHIP, with the studio's
// recording state and requests (mute, messages, hang-up) from its data-channel messages.
// Devices live in devices.js, connection quality in quality.js. Plain script, no build step.
"use strict";

(function () {
  const params = new URLSearchParams(location.search);
  const token = params.get("token") || "";
  const $ = (id) => document.getElementById(id);
  const ui = {
    name: $("name"), join: $("join"), hangup: $("hangup"), form: $("join-form"),
    preview: $("preview"), note: $("preview-note"), status: $("status"),
    error: $("error"), rec: $("rec-state"), recText: $("rec-text"),
    camera: $("camera"), microphone: $("microphone"), level: $("level"), mute: $("mute"),
    cameraOff: $("camera-off"), quality: $("quality"), message: $("studio-message"),
  };
  const devices = window.GuestDevices;

  // Read by tests and handy when debugging in the console.
  const state = window.guestState = {
    media: false, joined: false, connected: false, recording: false,
    file: null, answerSdp: null, error: null, httpStatus: null, messages: [],
    guest: null, muted: false, cameraOff: false, level: 0, quality: null, devices: null,
    studioMessage: null,
    iceServers: null, mediaUnreachable: false,
  };

  let stream = null;
  let pc = null;
  let resource = null; // the WHIP session URL from the Location header
  let channel = null;
  let stopMeter = () => {};
  let stopQuality = () => {};

  ui.name.value = (params.get("name") || "").slice(0, 64);

  function showError(text) {
    state.error = text || null;
    ui.error.textContent = text;
    ui.error.hidden = !text;
  }

  function setStatus(text) { ui.status.textContent = text; }

  // The studio's file name stays out of sight: it says nothing to a guest.
  function setRecording(on, file) {
    state.recording = !!on;
    state.file = on ? (file || null) : null;
    ui.rec.classList.toggle("on", !!on);
    ui.rec.classList.toggle("off", !on);
    ui.recText.textContent = on ? "You are being recorded" : "Not recorded";
  }

  function showStudioMessage(text) {
    state.studioMessage = text || null;
    ui.message.textContent = text || "";
    ui.message.hidden = !text;
  }

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

  function friendlyRefusal(status, reason) {
    if (status === 401 || status === 403) {
      return "This link does not let you in (its token is wrong or old). Ask the studio for a new link.";
    }
    if (status === 503) return "The studio cannot take you right now (it is full or not ready). Try again in a moment.";
    if (status === 413 || status === 415 || status === 422 || status === 400) {
      return "The studio could not use what this browser sent. Try another browser (Chrome, Edge, Firefox or Safari).";
    }
    return "The studio could not let you in" + (reason ? " (" + reason + ")" : "") + ". Try again in a moment.";
  }

  function authHeaders(extra) {
    const headers = Object.assign({}, extra || {});
    if (token) headers["Authorization"] = "Bearer " + token;
    return headers;
  }

  async function startMedia(cameraId, micId) {
    const fresh = await devices.open(cameraId, micId);
    const old = stream;
    stream = fresh;
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

  // -- Reaching the studio's media (ICE) -------------------------------------------
  // The studio's STUN/TURN servers, fetched per join: TURN credentials in it are minted
  // for this guest and expire, so they are never part of the page itself.
  const MEDIA_WAIT_MS = 7000; // after the answer; with gathering, the guest knows within ~10 s
  const MEDIA_UNREACHABLE = "Your camera and microphone could not reach the studio: a network " +
    "between you and the studio blocks the connection. Please tell the studio (it may need a " +
    "TURN server in its settings). Another network, such as a phone's hotspot, may work.";

  async function fetchIceServers(name) {
    const url = new URL("api/ice-servers?name=" + encodeURIComponent(name), location.href);
    const response = await fetch(url, { headers: authHeaders(), cache: "no-store" });
    if (!response.ok) {
      state.httpStatus = response.status;
      const reason = (await response.text()).trim() || response.statusText;
      throw new Error(friendlyRefusal(response.status, reason));
    }
    const body = await response.json();
    state.iceServers = body.iceServers || [];
    return state.iceServers;
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

  function waitForIceGathering(peer, timeoutMs) {
    if (peer.iceGatheringState === "complete") return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => { peer.removeEventListener("icegatheringstatechange", check); resolve(); };
      const check = () => { if (peer.iceGatheringState === "complete") done(); };
      peer.addEventListener("icegatheringstatechange", check);
      setTimeout(done, timeoutMs); // send what we have rather than hang
    });
  }

  function onMessage(event) {
    let msg;
    try { msg = JSON.parse(event.data); } catch (e) { return; }
    state.messages.push(msg);
    if (msg.type === "recording") {
      setRecording(msg.recording, msg.file);
      if (msg.guest && msg.guest !== state.guest) {
        state.guest = msg.guest;
        if (state.connected) setStatus("Connected to the studio as " + msg.guest + ".");
      }
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
    } else if (msg.type === "hangup") {
      showStudioMessage("The studio ended your call. Thank you!");
      leave(false, "The studio ended the call.");
    }
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
    setStatus("Connecting…");
    try {
      const iceServers = await fetchIceServers(name);
      pc = new RTCPeerConnection({ iceServers: iceServers });
      const peer = pc;
      channel = pc.createDataChannel("guestrec");
      channel.onmessage = (event) => { if (pc === peer) onMessage(event); };
      channel.onopen = tellStudio;
      for (const track of stream.getTracks()) {
        pc.addTransceiver(track, { direction: "sendonly", streams: [stream] });
      }
      pc.onconnectionstatechange = () => {
        const s = pc ? pc.connectionState : "closed";
        state.connected = s === "connected";
        if (s === "connected") setStatus("Connected to the studio as " + (state.guest || name) + ".");
        else if (s === "failed") mediaUnreachable(peer);
        else if (s === "disconnected") setStatus("Connection interrupted…");
      };
      await pc.setLocalDescription(await pc.createOffer());
      await waitForIceGathering(pc, 3000); // WHIP without trickle: all candidates in the offer

      const whipUrl = new URL("whip/" + encodeURIComponent(name), location.href);
      let response;
      try {
        response = await fetch(whipUrl, {
          method: "POST",
          headers: authHeaders({ "Content-Type": "application/sdp" }),
          body: pc.localDescription.sdp,
        });
      } catch (err) {
        throw new Error("The studio cannot be reached. Check your internet connection, or ask the studio whether it is ready.");
      }
      state.httpStatus = response.status;
      const text = await response.text();
      if (response.status !== 201) {
        throw new Error(friendlyRefusal(response.status, text.trim()));
      }
      resource = new URL(response.headers.get("Location"), whipUrl).toString();
      watchStudioEvents(response.headers.get("Link"), whipUrl);
      state.answerSdp = text;
      await pc.setRemoteDescription({ type: "answer", sdp: text });
      watchMedia(peer);
      state.joined = true;
      ui.hangup.disabled = false;
      stopQuality = window.GuestQuality.watch(pc, (q) => {
        state.quality = q;
        ui.quality.hidden = false;
        ui.quality.className = "quality " + q.level;
        ui.quality.textContent = q.text;
      });
      setStatus("Joined. Waiting for the connection…");
    } catch (err) {
      showError(err.message || String(err));
      await leave(false);
    }
  }

  // Through an SFU the data channel ends at the media server: the studio then names an
  // event stream for the recording state (Link header, rel="urn:guestrec:events").
  let events = null;
  function watchStudioEvents(link, base) {
    const match = /<([^>]+)>\s*;\s*rel="?urn:guestrec:events"?/.exec(link || "");
    if (!match || !window.EventSource) return;
    const url = new URL(match[1], base);
    if (token) url.searchParams.set("token", token);
    events = new EventSource(url.toString());
    events.onmessage = onMessage;
  }

  async function leave(sendDelete, why) {
    if (events) { events.close(); events = null; }
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
    state.joined = false;
    state.connected = false;
    setRecording(false);
    ui.hangup.disabled = true;
    ui.name.disabled = false;
    if (closing) releaseMedia(); // the camera light goes off when the call ends
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

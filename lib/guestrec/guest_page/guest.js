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
    iceServers: null, mediaUnreachable: false,
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
      throw new Error("The studio said no (HTTP " + response.status + "): " + reason);
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
    } else if (msg.type === "error") {
      showError("The studio reports: " + msg.message);
    }
  }

  async function join(event) {
    event.preventDefault();
    const name = ui.name.value.trim();
    if (!name) { ui.name.focus(); return; }
    if (!stream) return;
    showError("");
    ui.join.disabled = true;
    ui.name.disabled = true;
    setStatus("Connecting…");
    try {
      const iceServers = await fetchIceServers(name);
      pc = new RTCPeerConnection({ iceServers: iceServers });
      const peer = pc;
      const channel = pc.createDataChannel("guestrec");
      channel.onmessage = (event) => { if (pc === peer) onMessage(event); };
      for (const track of stream.getTracks()) {
        pc.addTransceiver(track, { direction: "sendonly", streams: [stream] });
      }
      pc.onconnectionstatechange = () => {
        const s = pc ? pc.connectionState : "closed";
        state.connected = s === "connected";
        if (s === "connected") setStatus("Connected to the studio as " + name + ".");
        else if (s === "failed") mediaUnreachable(peer);
        else if (s === "disconnected") setStatus("Connection interrupted…");
      };
      await pc.setLocalDescription(await pc.createOffer());
      await waitForIceGathering(pc, 3000); // WHIP without trickle: all candidates in the offer

      const whipUrl = new URL("whip/" + encodeURIComponent(name), location.href);
      const response = await fetch(whipUrl, {
        method: "POST",
        headers: authHeaders({ "Content-Type": "application/sdp" }),
        body: pc.localDescription.sdp,
      });
      state.httpStatus = response.status;
      const text = await response.text();
      if (response.status !== 201) {
        const reason = text.trim() || response.statusText;
        throw new Error("The studio said no (HTTP " + response.status + "): " + reason);
      }
      resource = new URL(response.headers.get("Location"), whipUrl).toString();
      watchStudioEvents(response.headers.get("Link"), whipUrl);
      state.answerSdp = text;
      await pc.setRemoteDescription({ type: "answer", sdp: text });
      watchMedia(peer);
      state.joined = true;
      ui.hangup.disabled = false;
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

  async function leave(sendDelete) {
    if (events) { events.close(); events = null; }
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

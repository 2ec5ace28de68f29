// The guest link and the studio's HTTP side of joining: the token (out of the address
// bar once read), authorization, refusals in words a guest understands, and the studio's
// ICE servers. Used by guest.js through window.GuestLink. Plain script, no build step.
"use strict";

(function () {
  const params = new URLSearchParams(location.search);
  // The token leaves the address bar (history, screen shares) once read; the tab keeps
  // it in sessionStorage so a reload still works.
  const token = params.get("token") || sessionStorage.getItem("guestrec-token") || "";
  if (params.has("token")) {
    sessionStorage.setItem("guestrec-token", token);
    params.delete("token");
    const rest = params.toString();
    history.replaceState(null, "", location.pathname + (rest ? "?" + rest : "") + location.hash);
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

  // Reaching the studio's media (ICE).
  // The studio's STUN/TURN servers, fetched per join: TURN credentials in it are minted
  // for this guest and expire, so they are never part of the page itself.
  const MEDIA_WAIT_MS = 7000; // after the answer; with gathering, the guest knows within ~10 s
  const MEDIA_UNREACHABLE = "Your camera and microphone could not reach the studio: a network " +
    "between you and the studio blocks the connection. Please tell the studio (it may need a " +
    "TURN server in its settings). Another network, such as a phone's hotspot, may work.";

  async function fetchIceServers(name, state) {
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

  function waitForIceGathering(peer, timeoutMs) {
    if (peer.iceGatheringState === "complete") return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => { peer.removeEventListener("icegatheringstatechange", check); resolve(); };
      const check = () => { if (peer.iceGatheringState === "complete") done(); };
      peer.addEventListener("icegatheringstatechange", check);
      setTimeout(done, timeoutMs); // send what we have rather than hang
    });
  }

  // A 503 with Retry-After (other guests are still connecting) is waited out and the same
  // offer sent again, this many times at most, each wait at most MAX_RETRY_AFTER_S.
  const BUSY_RETRIES = 6;
  const MAX_RETRY_AFTER_S = 15;

  // The offer to the studio's WHIP endpoint under `name` (with the resume secret when
  // coming back). Resolves with the studio's 201 answer; rejects with an Error in words
  // for the guest (err.final when trying again cannot help). onWait(seconds) is told
  // before each wait for a busy studio.
  async function postOffer(name, resumeSecret, sdp, state, onWait) {
    const headers = { "Content-Type": "application/sdp" };
    if (resumeSecret) headers["Guestrec-Resume"] = resumeSecret;
    const whipUrl = new URL("whip/" + encodeURIComponent(name), location.href);
    let response;
    for (let attempt = 0; ; attempt++) {
      try {
        response = await fetch(whipUrl, { method: "POST", headers: authHeaders(headers), body: sdp });
      } catch (err) {
        throw new Error("The studio cannot be reached. Check your internet connection, or ask the studio whether it is ready.");
      }
      const wait = Number(response.headers.get("Retry-After"));
      if (response.status !== 503 || !(wait > 0) || attempt >= BUSY_RETRIES) break;
      state.busyRetries = attempt + 1;
      const seconds = Math.min(wait, MAX_RETRY_AFTER_S);
      if (onWait) onWait(seconds);
      await response.text();
      await new Promise((done) => setTimeout(done, seconds * 1000));
    }
    state.httpStatus = response.status;
    const text = await response.text();
    if (response.status !== 201) {
      const err = new Error(friendlyRefusal(response.status, text.trim()));
      err.final = response.status >= 400 && response.status < 500;
      throw err;
    }
    return { response, text, whipUrl };
  }

  // Through an SFU the studio names an event stream for the recording state (Link
  // header, rel="urn:guestrec:events"): its address with the token, else null.
  function eventsUrl(link, base) {
    const match = /<([^>]+)>\s*;\s*rel="?urn:guestrec:events"?/.exec(link || "");
    if (!match || !window.EventSource) return null;
    const url = new URL(match[1], base);
    if (token) url.searchParams.set("token", token);
    return url.toString();
  }

  window.GuestLink = {
    params, token, authHeaders, friendlyRefusal, fetchIceServers, waitForIceGathering,
    postOffer, eventsUrl, MEDIA_WAIT_MS, MEDIA_UNREACHABLE,
  };
})();

// The guest page's HTTP requests to the studio: its ICE servers, the WHIP offer (waiting
// out a busy studio), leaving (DELETE), and the event stream an SFU names. Also the token
// from the guest link, and refusals in words a guest understands. No DOM: Node's tests
// run these requests against a real local server.

const TOKEN_KEY = "guestrec-token";

// The link's parameters and token. The token leaves the address bar (history, screen
// shares) once read; the tab keeps it in sessionStorage so a reload still works.
export function readGuestLink(loc, storage, hist) {
  const params = new URLSearchParams(loc.search);
  const token = params.get("token") || storage.getItem(TOKEN_KEY) || "";
  if (params.has("token")) {
    storage.setItem(TOKEN_KEY, token);
    params.delete("token");
    const rest = params.toString();
    hist.replaceState(null, "", loc.pathname + (rest ? "?" + rest : "") + loc.hash);
  }
  return { params, token };
}

export function friendlyRefusal(status, reason) {
  // A link the studio knows but will not take now (an invite revoked, expired or in use
  // elsewhere): the studio's own words.
  if ((status === 403 || status === 409) && reason) {
    return reason + (status === 403 ? " Ask the studio for a new link." : "");
  }
  if (status === 401 || status === 403) {
    return "This link does not let you in (its token is wrong or old). Ask the studio for a new link.";
  }
  if (status === 503) return "The studio cannot take you right now (it is full or not ready). Try again in a moment.";
  if (status === 413 || status === 415 || status === 422 || status === 400) {
    return "The studio could not use what this browser sent. Try another browser (Chrome, Edge, Firefox or Safari).";
  }
  return "The studio could not let you in" + (reason ? " (" + reason + ")" : "") + ". Try again in a moment.";
}

const UNREACHABLE = "The studio cannot be reached. Check your internet connection, or ask the studio whether it is ready.";

// An Error for the guest; `final` when trying again cannot help (the studio said no).
function refusal(status, reason) {
  const err = new Error(friendlyRefusal(status, reason));
  err.status = status;
  err.final = status >= 400 && status < 500;
  return err;
}

function unreachable() {
  const err = new Error(UNREACHABLE);
  err.status = null;
  err.final = false;
  return err;
}

export function waitForIceGathering(peer, timeoutMs) {
  if (peer.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    let timer = null;
    const done = () => {
      clearTimeout(timer);
      peer.removeEventListener("icegatheringstatechange", check);
      resolve();
    };
    const check = () => { if (peer.iceGatheringState === "complete") done(); };
    peer.addEventListener("icegatheringstatechange", check);
    timer = setTimeout(done, timeoutMs); // send what we have rather than hang
  });
}

// Through an SFU the studio names an event stream for the recording state (Link header,
// rel="urn:guestrec:events"): its address with the token, else null.
export function eventsUrl(link, base, token) {
  const match = /<([^>]+)>\s*;\s*rel="?urn:guestrec:events"?/.exec(link || "");
  if (!match) return null;
  const url = new URL(match[1], base);
  if (token) url.searchParams.set("token", token);
  return url.toString();
}

// A 503 with Retry-After (other guests are still connecting) is waited out and the same
// offer sent again, this many times at most, each wait at most MAX_RETRY_AFTER_S.
export const BUSY_RETRIES = 6;
export const MAX_RETRY_AFTER_S = 15;

// Seconds to wait before sending the offer again, or null when not to send it again.
export function busyWait(status, retryAfter, retriesSoFar) {
  const wait = Number(retryAfter);
  if (status !== 503 || !(wait > 0) || retriesSoFar >= BUSY_RETRIES) return null;
  return Math.min(wait, MAX_RETRY_AFTER_S);
}

export class StudioRequests {
  // pageUrl: the page's address (requests go relative to it); fetchFn: the browser's fetch.
  constructor(token, pageUrl, fetchFn) {
    this.token = token || "";
    this.pageUrl = pageUrl;
    this.fetch = fetchFn || ((...args) => globalThis.fetch(...args));
  }

  authHeaders(extra) {
    const headers = Object.assign({}, extra || {});
    if (this.token) headers["Authorization"] = "Bearer " + this.token;
    return headers;
  }

  // The studio's STUN/TURN servers, fetched per join: TURN credentials in them are minted
  // for this guest and expire, so they are never part of the page itself.
  async iceServers(name) {
    const url = new URL("api/ice-servers?name=" + encodeURIComponent(name), this.pageUrl);
    let response;
    try {
      response = await this.fetch(url, { headers: this.authHeaders(), cache: "no-store" });
    } catch (err) {
      throw unreachable();
    }
    if (!response.ok) {
      const reason = (await response.text()).trim() || response.statusText;
      throw refusal(response.status, reason);
    }
    const body = await response.json();
    return body.iceServers || [];
  }

  // The offer to the studio's WHIP endpoint under `name` (with the resume secret when
  // coming back). Resolves with the studio's 201 answer {status, sdp, name, resumeSecret,
  // location (absolute), link, whipUrl}; rejects with an Error for the guest (err.status,
  // err.final). hooks.onBusy(seconds, retries) before each wait for a busy studio,
  // hooks.onResend() when the offer goes again; hooks.headers: more headers to send.
  async postOffer(name, resumeSecret, sdp, hooks) {
    const on = hooks || {};
    const headers = Object.assign({ "Content-Type": "application/sdp" }, on.headers || {});
    if (resumeSecret) headers["Guestrec-Resume"] = resumeSecret;
    const whipUrl = new URL("whip/" + encodeURIComponent(name), this.pageUrl);
    let response;
    for (let retries = 0; ; retries++) {
      try {
        response = await this.fetch(whipUrl, { method: "POST", headers: this.authHeaders(headers), body: sdp });
      } catch (err) {
        throw unreachable();
      }
      const seconds = busyWait(response.status, response.headers.get("Retry-After"), retries);
      if (seconds === null) break;
      if (on.onBusy) on.onBusy(seconds, retries + 1);
      await response.text();
      await new Promise((done) => setTimeout(done, seconds * 1000));
      if (on.onResend) on.onResend();
    }
    const text = await response.text();
    if (response.status !== 201) throw refusal(response.status, text.trim());
    const given = response.headers.get("Guestrec-Name");
    return {
      status: response.status, sdp: text, whipUrl: whipUrl.toString(),
      name: given ? decodeURIComponent(given) : null,
      resumeSecret: response.headers.get("Guestrec-Resume"),
      location: new URL(response.headers.get("Location"), whipUrl).toString(),
      link: response.headers.get("Link"),
    };
  }

  // Leaving on purpose. Resolves with the studio's status, or null when it was not reached.
  async leave(sessionUrl) {
    try {
      const response = await this.fetch(sessionUrl, { method: "DELETE", headers: this.authHeaders() });
      return response.status;
    } catch (err) {
      return null;
    }
  }

  // The tab is closing: keepalive lets the request outlive the page.
  farewell(sessionUrl) {
    this.fetch(sessionUrl, { method: "DELETE", headers: this.authHeaders(), keepalive: true }).catch(() => {});
  }
}

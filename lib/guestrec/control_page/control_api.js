// The control room's requests to the studio. The operator key comes in the page's
// fragment (#key=...), which browsers never send anywhere; it is kept in the tab's
// sessionStorage, taken out of the address bar, and sent only as a header. The event
// stream is read with fetch (EventSource cannot send a header). No DOM here.

const KEY_NAME = "guestrec-operator-key";

export function readKey(loc, storage, hist) {
  const params = new URLSearchParams((loc.hash || "").replace(/^#/, ""));
  const key = params.get("key") || storage.getItem(KEY_NAME) || "";
  if (params.has("key")) {
    storage.setItem(KEY_NAME, key);
    hist.replaceState(null, "", loc.pathname + loc.search);
  }
  return key;
}

export class KeyRefused extends Error {
  constructor(status, reason) {
    super(status === 403
      ? "That is a guest's link. The control room needs the operator key: open the Control room link the studio shows."
      : "The operator key is missing or wrong. Open the Control room link the studio shows (it ends in #key=...).");
    this.status = status;
    this.reason = reason;
  }
}

// Splits a growing text of server-sent events into complete events; returns what is left.
export function takeEvents(buffer, onEvent) {
  let end;
  while ((end = buffer.indexOf("\n\n")) >= 0) {
    const block = buffer.slice(0, end);
    buffer = buffer.slice(end + 2);
    let name = "message";
    const data = [];
    for (const line of block.split("\n")) {
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "event") name = value;
      else if (field === "data") data.push(value);
    }
    if (data.length) onEvent(name, JSON.parse(data.join("\n")));
  }
  return buffer;
}

export class StudioApi {
  constructor(key, fetchFn) {
    this.key = key;
    this.fetch = fetchFn || ((...args) => globalThis.fetch(...args));
  }

  headers(extra) {
    return Object.assign({ Authorization: "Bearer " + this.key }, extra || {});
  }

  // A JSON request; resolves with the answer's JSON, rejects with an Error saying why.
  async call(method, path, body) {
    const init = { method, headers: this.headers(), cache: "no-store" };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await this.fetch(path, init);
    const text = await response.text();
    let value = null;
    try { value = text ? JSON.parse(text) : null; } catch (err) { value = null; }
    if (response.status === 401 || response.status === 403) throw new KeyRefused(response.status, text);
    if (!response.ok) throw new Error((value && value.error) || text.trim() || response.statusText);
    return value;
  }

  guestPath(name, what) {
    return "api/guests/" + encodeURIComponent(name) + "/" + what;
  }

  // The guest's latest picture as a Blob, or null when there is none yet.
  async picture(name) {
    const response = await this.fetch(this.guestPath(name, "picture"), { headers: this.headers(), cache: "no-store" });
    if (response.status === 401 || response.status === 403) throw new KeyRefused(response.status, "");
    return response.ok ? response.blob() : null;
  }

  // Reads the event stream until it ends; onEvent(name, value) per event.
  // Resolves when the stream ends; rejects with KeyRefused for a wrong key.
  async events(onEvent, onOpen) {
    const response = await this.fetch("api/events", { headers: this.headers(), cache: "no-store" });
    if (response.status === 401 || response.status === 403) throw new KeyRefused(response.status, "");
    if (!response.ok || !response.body) throw new Error("the studio's event stream answered " + response.status);
    if (onOpen) onOpen();
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer = takeEvents((buffer + value).replace(/\r\n/g, "\n"), onEvent);
    }
  }
}

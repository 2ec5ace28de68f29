// Coming back after a dropped connection, for the guest page.
//   ResumeStore  the studio's resume secret per typed name (sessionStorage: this tab only)
//   watchDrop    calls onDrop once when a connected peer has dropped
//   rejoin       tries new connections with growing pauses until one connects or time is up
// No DOM: the peer and the storage come in, so Node's tests can hand in their own.

import { receivedProgress } from "./link_stats.js";

export const TIMING = Object.freeze({
  dropAfterMs: 3000, // "disconnected" this long counts as a drop
  // The studio sends something every second or so (RTCP reports, ICE consent checks),
  // while Chromium calls a dead link "disconnected" only after 5-7 s: a connection that
  // received nothing for silenceMs is taken as dropped sooner.
  silenceMs: 4000,
  statsEveryMs: 1000,
  attemptTimeoutMs: 10000, // one try's time to connect
  giveUpMs: 120000,
  backoffMs: Object.freeze([500, 1000, 2000, 4000, 8000]),
});

const RESUME_KEY = "guestrec.resume";

// The pause before try number `attempt` (0 first): growing, then steady at the last step.
export function backoffDelay(attempt, steps) {
  const list = steps || TIMING.backoffMs;
  return list[Math.min(Math.max(0, attempt), list.length - 1)];
}

// {typed name: {name: the name the studio gave, secret}}; the studio's 201 carries both.
export class ResumeStore {
  constructor(storage) { this.storage = storage; }
  all() {
    try { return JSON.parse(this.storage.getItem(RESUME_KEY) || "{}") || {}; } catch (e) { return {}; }
  }
  get(typed) { return this.all()[typed] || null; }
  save(all) {
    try { this.storage.setItem(RESUME_KEY, JSON.stringify(all)); } catch (e) { /* private mode */ }
  }
  put(typed, name, secret) {
    const all = this.all();
    all[typed] = { name: name, secret: secret };
    this.save(all);
  }
  drop(typed) {
    const all = this.all();
    delete all[typed];
    this.save(all);
  }
}

function sleep(ms) { return new Promise((resolve) => setTimeout(resolve, ms)); }


// Returns stop(). onDrop(why) is called at most once: "failed", "disconnected" (for longer
// than dropAfterMs) or "silent" (nothing received for silenceMs, by the counter
// link_stats.receivedProgress finds in the browser's report).
export function watchDrop(peer, onDrop, timing) {
  const t = Object.assign({}, TIMING, timing || {});
  let done = false;
  let timer = null;
  let last = null; // the last reading: "source value"
  let lastChange = performance.now();
  const drop = (why) => { if (!done) { stop(); onDrop(why); } };
  const onState = () => {
    const s = peer.connectionState;
    clearTimeout(timer);
    timer = null;
    if (s === "failed") drop("failed");
    // A short blip heals by itself; a longer one (a Wi-Fi change) needs a new connection.
    else if (s === "disconnected") timer = setTimeout(() => drop("disconnected"), t.dropAfterMs);
  };
  const poll = setInterval(async () => {
    let progress;
    try { progress = receivedProgress(await peer.getStats()); } catch (e) { return; }
    const now = performance.now();
    const reading = progress.source + " " + progress.value;
    // A report with no counter to read says nothing about silence.
    if (progress.source === null || reading !== last) { last = reading; lastChange = now; }
    else if (now - lastChange > t.silenceMs) drop("silent");
  }, t.statsEveryMs);
  function stop() {
    done = true;
    clearTimeout(timer);
    clearInterval(poll);
    peer.removeEventListener("connectionstatechange", onState);
  }
  peer.addEventListener("connectionstatechange", onState);
  return stop;
}

export function waitConnected(peer, ms) {
  return new Promise((resolve) => {
    const until = performance.now() + ms;
    const poll = () => {
      const s = peer.connectionState;
      if (s === "connected") resolve(true);
      else if (s === "failed" || s === "closed" || performance.now() > until) resolve(false);
      else setTimeout(poll, 100);
    };
    poll();
  });
}

// opts.attempt(): a new peer that has sent its offer (rejects to try again later, or
//   with err.final set when another try cannot help);
// opts.wanted(): false once the guest left (the loop then stops quietly);
// opts.discard(peer): a try that did not connect;
// opts.timing: overrides of TIMING (tests).
// Resolves with the connected peer, or null when time ran out or the guest left.
export async function rejoin(opts) {
  const t = Object.assign({}, TIMING, opts.timing || {});
  const started = performance.now();
  for (let attempt = 0; ; attempt++) {
    await sleep(backoffDelay(attempt, t.backoffMs));
    if (!opts.wanted() || performance.now() - started > t.giveUpMs) return null;
    let peer;
    try {
      peer = await opts.attempt();
    } catch (err) {
      if (err && err.final) throw err;
      continue; // the studio is unreachable or busy: try again
    }
    if (!opts.wanted()) { opts.discard(peer); return null; }
    if (await waitConnected(peer, t.attemptTimeoutMs)) return peer;
    opts.discard(peer);
  }
}

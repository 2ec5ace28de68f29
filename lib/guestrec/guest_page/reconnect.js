// Coming back after a dropped connection, for the guest page. window.GuestReconnect.
//   resume      the studio's resume secret per typed name (sessionStorage: this tab only)
//   watchDrop   calls onDrop once when a connected peer has dropped
//   rejoin      tries new connections with growing pauses until one connects or time is up
"use strict";

window.GuestReconnect = (function () {
  const RESUME_KEY = "guestrec.resume";
  const DROP_AFTER_MS = 3000; // "disconnected" this long counts as a drop
  // The studio sends something every second or so (RTCP reports, ICE consent checks),
  // while Chromium calls a dead link "disconnected" only after 5-7 s: a connection that
  // received nothing for SILENCE_MS is taken as dropped sooner.
  const SILENCE_MS = 4000;
  const ATTEMPT_TIMEOUT_MS = 10000; // one try's time to connect
  const GIVE_UP_MS = 120000;
  const BACKOFF_MS = [500, 1000, 2000, 4000, 8000];

  // {typed name: {name: the name the studio gave, secret}}; the studio's 201 carries both.
  const resume = {
    all() {
      try { return JSON.parse(sessionStorage.getItem(RESUME_KEY) || "{}") || {}; } catch (e) { return {}; }
    },
    get(typed) { return this.all()[typed] || null; },
    save(all) {
      try { sessionStorage.setItem(RESUME_KEY, JSON.stringify(all)); } catch (e) { /* private mode */ }
    },
    put(typed, name, secret) {
      const all = this.all();
      all[typed] = { name: name, secret: secret };
      this.save(all);
    },
    drop(typed) {
      const all = this.all();
      delete all[typed];
      this.save(all);
    },
  };

  function sleep(ms) { return new Promise((resolve) => setTimeout(resolve, ms)); }

  // Returns stop(). onDrop(why) is called at most once.
  function watchDrop(peer, onDrop) {
    let done = false;
    let timer = null;
    let lastBytes = -1;
    let lastChange = performance.now();
    const drop = (why) => { if (!done) { stop(); onDrop(why); } };
    const onState = () => {
      const s = peer.connectionState;
      clearTimeout(timer);
      timer = null;
      if (s === "failed") drop("failed");
      // A short blip heals by itself; a longer one (a Wi-Fi change) needs a new connection.
      else if (s === "disconnected") timer = setTimeout(() => drop("disconnected"), DROP_AFTER_MS);
    };
    const poll = setInterval(async () => {
      let bytes = 0;
      try {
        (await peer.getStats()).forEach((s) => { if (s.type === "transport") bytes += s.bytesReceived || 0; });
      } catch (e) { return; }
      const now = performance.now();
      if (bytes !== lastBytes) { lastBytes = bytes; lastChange = now; }
      else if (now - lastChange > SILENCE_MS) drop("silent");
    }, 1000);
    function stop() {
      done = true;
      clearTimeout(timer);
      clearInterval(poll);
      peer.removeEventListener("connectionstatechange", onState);
    }
    peer.addEventListener("connectionstatechange", onState);
    return stop;
  }

  function waitConnected(peer, ms) {
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
  // opts.discard(peer): a try that did not connect.
  // Resolves with the connected peer, or null when time ran out or the guest left.
  async function rejoin(opts) {
    const started = performance.now();
    for (let attempt = 0; ; attempt++) {
      await sleep(BACKOFF_MS[Math.min(attempt, BACKOFF_MS.length - 1)]);
      if (!opts.wanted() || performance.now() - started > GIVE_UP_MS) return null;
      let peer;
      try {
        peer = await opts.attempt();
      } catch (err) {
        if (err && err.final) throw err;
        continue; // the studio is unreachable or busy: try again
      }
      if (!opts.wanted()) { opts.discard(peer); return null; }
      if (await waitConnected(peer, ATTEMPT_TIMEOUT_MS)) return peer;
      opts.discard(peer);
    }
  }

  return { resume: resume, watchDrop: watchDrop, rejoin: rejoin };
})();

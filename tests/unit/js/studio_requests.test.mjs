// The page's requests to the studio against a real HTTP server on 127.0.0.1: ICE servers,
// the WHIP offer (a busy studio waited out), refusals in words, leaving.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";

import {
  BUSY_RETRIES, MAX_RETRY_AFTER_S, StudioRequests, busyWait, eventsUrl, friendlyRefusal, readGuestLink,
  waitForIceGathering,
} from "../../../lib/guestrec/guest_page/studio_requests.js";

const TOKEN = "tok-123";
let server;
let base; // the page's address: http://127.0.0.1:PORT/
const seen = []; // {method, url, auth, body, resume}
let offerAnswers = []; // what the WHIP endpoint answers, in turn: {status, headers, body}

before(async () => {
  server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => { body += c; });
    req.on("end", () => {
      seen.push({ method: req.method, url: req.url, auth: req.headers.authorization, body,
        resume: req.headers["guestrec-resume"], type: req.headers["content-type"] });
      const url = new URL(req.url, base);
      if (req.headers.authorization !== "Bearer " + TOKEN) {
        res.writeHead(401, { "Content-Type": "text/plain" });
        return res.end("bad token");
      }
      if (url.pathname === "/api/ice-servers") {
        res.writeHead(200, { "Content-Type": "application/json" });
        return res.end(JSON.stringify({ iceServers: [{ urls: "stun:127.0.0.1:3478" }], name: url.searchParams.get("name") }));
      }
      if (url.pathname.startsWith("/whip/session/") && req.method === "DELETE") {
        res.writeHead(url.pathname.endsWith("/gone") ? 404 : 200);
        return res.end();
      }
      if (url.pathname.startsWith("/whip/") && req.method === "POST") {
        const answer = offerAnswers.shift() || { status: 500, body: "no answer planned" };
        res.writeHead(answer.status, answer.headers || {});
        return res.end(answer.body || "");
      }
      res.writeHead(404);
      res.end();
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${server.address().port}/`;
});

after(() => new Promise((resolve) => server.close(resolve)));

const requests = () => new StudioRequests(TOKEN, base);

test("ICE servers are fetched with the token, for the typed name", async () => {
  seen.length = 0;
  const servers = await requests().iceServers("Zoë & co");
  assert.deepEqual(servers, [{ urls: "stun:127.0.0.1:3478" }]);
  assert.equal(seen[0].auth, "Bearer " + TOKEN);
  assert.equal(new URL(seen[0].url, base).searchParams.get("name"), "Zoë & co");
});

test("a wrong token is refused for good, in words a guest understands", async () => {
  const err = await new StudioRequests("wrong", base).iceServers("Mallory").then(() => null, (e) => e);
  assert.equal(err.status, 401);
  assert.equal(err.final, true);
  assert.match(err.message, /token is wrong or old/);
  assert.doesNotMatch(err.message, /HTTP|401/);
});

test("an unreachable studio can be tried again", async () => {
  const closed = http.createServer();
  await new Promise((resolve) => closed.listen(0, "127.0.0.1", resolve));
  const gone = `http://127.0.0.1:${closed.address().port}/`;
  await new Promise((resolve) => closed.close(resolve));
  const r = new StudioRequests(TOKEN, gone);
  for (const call of [() => r.iceServers("Ann"), () => r.postOffer("Ann", null, "v=0", {})]) {
    const err = await call().then(() => null, (e) => e);
    assert.equal(err.final, false);
    assert.equal(err.status, null);
    assert.match(err.message, /cannot be reached/);
  }
  assert.equal(await r.leave(gone + "whip/session/x"), null);
});

test("the offer goes as application/sdp; the studio's answer is read", async () => {
  seen.length = 0;
  offerAnswers = [{ status: 201, body: "v=0 answer", headers: {
    "Content-Type": "application/sdp", "Location": "/whip/session/abc", "Guestrec-Name": encodeURIComponent("Eve 2"),
    "Guestrec-Resume": "secret-1", "Link": '</events/abc>; rel="urn:guestrec:events"' } }];
  const answer = await requests().postOffer("Eve", "old-secret", "v=0 offer", {});
  assert.deepEqual(answer, {
    status: 201, sdp: "v=0 answer", whipUrl: base + "whip/Eve", name: "Eve 2", resumeSecret: "secret-1",
    location: base + "whip/session/abc", link: '</events/abc>; rel="urn:guestrec:events"',
  });
  assert.equal(seen.length, 1);
  assert.deepEqual([seen[0].type, seen[0].body, seen[0].resume, seen[0].auth],
    ["application/sdp", "v=0 offer", "old-secret", "Bearer " + TOKEN]);
});

test("a busy studio (503 + Retry-After) is waited out and the same offer sent again", async () => {
  seen.length = 0;
  offerAnswers = [
    { status: 503, headers: { "Retry-After": "0.1" }, body: "still connecting" },
    { status: 503, headers: { "Retry-After": "0.05" }, body: "still connecting" },
    { status: 201, headers: { "Location": "/whip/session/s1" }, body: "v=0 answer" },
  ];
  const told = [];
  const started = performance.now();
  const answer = await requests().postOffer("Late", null, "v=0 same offer", {
    onBusy: (seconds, retries) => told.push(["busy", seconds, retries]),
    onResend: () => told.push(["resend"]),
  });
  const waited = performance.now() - started;
  assert.equal(answer.status, 201);
  assert.deepEqual(told, [["busy", 0.1, 1], ["resend"], ["busy", 0.05, 2], ["resend"]]);
  assert.deepEqual(seen.map((s) => s.body), ["v=0 same offer", "v=0 same offer", "v=0 same offer"]);
  assert.ok(waited >= 140, `waited ${waited} ms`);
});

test("a studio that stays busy, or is full without Retry-After, is a refusal that may pass", async () => {
  offerAnswers = Array.from({ length: BUSY_RETRIES + 1 }, () => ({ status: 503, headers: { "Retry-After": "0.01" } }));
  let waits = 0;
  const err = await requests().postOffer("Late", null, "v=0", { onBusy: () => { waits += 1; } }).then(() => null, (e) => e);
  assert.equal(waits, BUSY_RETRIES);
  assert.equal(err.status, 503);
  assert.equal(err.final, false);
  assert.match(err.message, /cannot take you right now/);
  offerAnswers = [{ status: 503 }];
  const full = await requests().postOffer("Late", null, "v=0", { onBusy: () => { waits += 1; } }).then(() => null, (e) => e);
  assert.equal(full.status, 503);
  assert.equal(waits, BUSY_RETRIES); // no wait without Retry-After
});

test("an offer the studio cannot use is refused for good", async () => {
  offerAnswers = [{ status: 415, body: "unsupported" }];
  const err = await requests().postOffer("Ann", null, "v=0", {}).then(() => null, (e) => e);
  assert.equal(err.status, 415);
  assert.equal(err.final, true);
  assert.match(err.message, /Try another browser/);
});

test("leaving: the studio's answer, or none", async () => {
  assert.equal(await requests().leave(base + "whip/session/abc"), 200);
  assert.equal(await requests().leave(base + "whip/session/gone"), 404);
  seen.length = 0;
  requests().farewell(base + "whip/session/abc");
  for (let i = 0; i < 50 && !seen.length; i++) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual([seen[0].method, seen[0].auth], ["DELETE", "Bearer " + TOKEN]);
});

test("busy waits: only 503 with a positive Retry-After, capped, a limited number of times", () => {
  assert.equal(busyWait(503, "3", 0), 3);
  assert.equal(busyWait(503, "120", 0), MAX_RETRY_AFTER_S);
  assert.equal(busyWait(503, "0", 0), null);
  assert.equal(busyWait(503, null, 0), null);
  assert.equal(busyWait(503, "soon", 0), null);
  assert.equal(busyWait(429, "3", 0), null);
  assert.equal(busyWait(503, "3", BUSY_RETRIES - 1), 3);
  assert.equal(busyWait(503, "3", BUSY_RETRIES), null);
});

test("refusals say what to do, without HTTP words", () => {
  assert.match(friendlyRefusal(403, "x"), /Ask the studio for a new link/);
  assert.equal(friendlyRefusal(403, "This invite link has expired."),
    "This invite link has expired. Ask the studio for a new link.");
  assert.match(friendlyRefusal(403, ""), /token is wrong or old/);
  assert.equal(friendlyRefusal(409, "In use elsewhere."), "In use elsewhere.");
  assert.match(friendlyRefusal(400, "x"), /another browser/);
  assert.equal(friendlyRefusal(500, "disk full"), "The studio could not let you in (disk full). Try again in a moment.");
  assert.equal(friendlyRefusal(502, ""), "The studio could not let you in. Try again in a moment.");
});

test("the SFU's event stream address, with the token", () => {
  const link = '<https://studio.example/whip/sfu/events/7>; rel="urn:guestrec:events", <x>; rel="other"';
  assert.equal(eventsUrl(link, "https://studio.example/whip/a", "t k"),
    "https://studio.example/whip/sfu/events/7?token=t+k");
  assert.equal(eventsUrl("</ev/1>; rel=urn:guestrec:events", "https://s.example/whip/a", ""), "https://s.example/ev/1");
  assert.equal(eventsUrl('</ev/1>; rel="ice-server"', "https://s.example/", "t"), null);
  assert.equal(eventsUrl(null, "https://s.example/", "t"), null);
});

test("the token leaves the address bar and stays in the tab", () => {
  const storage = new Map();
  const tab = { getItem: (k) => storage.get(k) ?? null, setItem: (k, v) => storage.set(k, v) };
  const replaced = [];
  const hist = { replaceState: (_s, _t, url) => replaced.push(url) };
  const first = readGuestLink({ search: "?name=Ida&token=abc", pathname: "/", hash: "#x" }, tab, hist);
  assert.equal(first.token, "abc");
  assert.equal(first.params.get("name"), "Ida");
  assert.deepEqual(replaced, ["/?name=Ida#x"]);
  const reloaded = readGuestLink({ search: "?name=Ida", pathname: "/", hash: "" }, tab, hist);
  assert.equal(reloaded.token, "abc");
  assert.equal(replaced.length, 1); // nothing to take out
  const bare = readGuestLink({ search: "?token=zz", pathname: "/p", hash: "" }, tab, hist);
  assert.equal(bare.token, "zz");
  assert.equal(replaced.at(-1), "/p");
});

test("ICE gathering: done, or send what there is after the timeout", async () => {
  const done = Object.assign(new EventTarget(), { iceGatheringState: "complete" });
  await waitForIceGathering(done, 10000);
  const gathering = Object.assign(new EventTarget(), { iceGatheringState: "gathering" });
  setTimeout(() => { gathering.iceGatheringState = "complete"; gathering.dispatchEvent(new Event("icegatheringstatechange")); }, 20);
  const started = performance.now();
  await waitForIceGathering(gathering, 10000);
  assert.ok(performance.now() - started < 1000);
  const stuck = Object.assign(new EventTarget(), { iceGatheringState: "gathering" });
  const t0 = performance.now();
  await waitForIceGathering(stuck, 60);
  assert.ok(performance.now() - t0 >= 55);
});

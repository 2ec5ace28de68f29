// The control room's requests against a real HTTP server on 127.0.0.1: the key from the
// fragment, JSON calls and their refusals, and the event stream read in pieces.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";

import { KeyRefused, StudioApi, readKey, takeEvents } from "../../../lib/guestrec/control_page/control_api.js";
import { duration, bytes, guestFigures } from "../../../lib/guestrec/control_page/control_format.js";

const KEY = "the-operator-key";
const GUEST = "guest-token";
let server;
let base;

before(async () => {
  server = http.createServer((req, res) => {
    const auth = req.headers.authorization;
    if (auth === "Bearer " + GUEST) { res.writeHead(403); return res.end("guest"); }
    if (auth !== "Bearer " + KEY) { res.writeHead(401); return res.end("missing or wrong operator key"); }
    const url = new URL(req.url, base);
    if (url.pathname === "/api/events") {
      res.writeHead(200, { "Content-Type": "text/event-stream" });
      // One event cut in the middle of its data, a comment, then two events at once.
      res.write("retry: 1000\n\nevent: guests\ndata: [{\"na");
      setTimeout(() => {
        res.write("me\": \"Ann\"}]\n\n: still here\n\n");
        res.end("event: show\ndata: {\"guests\": 1}\n\nevent: files\ndata: {\"files\": []}\n\n");
      }, 30);
      return;
    }
    if (url.pathname === "/api/guests/Nobody/hangup") {
      res.writeHead(409, { "Content-Type": "application/json" });
      return res.end(JSON.stringify({ error: "no guest named 'Nobody'" }));
    }
    let body = "";
    req.on("data", (c) => { body += c; });
    req.on("end", () => {
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ path: url.pathname, body: body ? JSON.parse(body) : null }));
    });
  });
  await new Promise((done) => server.listen(0, "127.0.0.1", done));
  base = "http://127.0.0.1:" + server.address().port + "/control";
});

after(() => server.close());

const at = (path) => new URL(path, base);
const fetchAt = (path, init) => fetch(at(path), init);

test("the key comes from the fragment, leaves the address bar and stays for a reload", () => {
  const store = new Map();
  const storage = { getItem: (k) => store.get(k) || null, setItem: (k, v) => store.set(k, v) };
  const replaced = [];
  const hist = { replaceState: (_s, _t, url) => replaced.push(url) };
  assert.equal(readKey({ hash: "#key=abc", pathname: "/control", search: "" }, storage, hist), "abc");
  assert.deepEqual(replaced, ["/control"]);
  assert.equal(readKey({ hash: "", pathname: "/control", search: "" }, storage, hist), "abc");
  assert.equal(replaced.length, 1);
});

test("events are taken whole, however the text arrives", () => {
  const seen = [];
  let rest = takeEvents("event: a\ndata: {\"x\":", (n, v) => seen.push([n, v]));
  assert.deepEqual(seen, []);
  rest = takeEvents(rest + "1}\n\n: comment\n\ndata: [1,\ndata: 2]\n\nevent: b", (n, v) => seen.push([n, v]));
  assert.deepEqual(seen, [["a", { x: 1 }], ["message", [1, 2]]]);
  assert.equal(rest, "event: b");
});

test("calls send the key as a header and JSON; refusals say why", async () => {
  const api = new StudioApi(KEY, fetchAt);
  const answer = await api.call("POST", api.guestPath("Zoë / 2", "record"), { on: true });
  assert.deepEqual(answer, { path: "/api/guests/Zo%C3%AB%20%2F%202/record", body: { on: true } });
  await assert.rejects(api.call("POST", api.guestPath("Nobody", "hangup")), /no guest named 'Nobody'/);
  const wrong = new StudioApi("nope", fetchAt);
  await assert.rejects(wrong.call("GET", "api/guests"), (err) => err instanceof KeyRefused && err.status === 401);
  const guest = new StudioApi(GUEST, fetchAt);
  await assert.rejects(guest.call("GET", "api/guests"), (err) => err instanceof KeyRefused && /guest's link/.test(err.message));
});

test("the event stream is read in pieces until it ends", async () => {
  const seen = [];
  let opened = false;
  await new StudioApi(KEY, fetchAt).events((name, value) => seen.push([name, value]), () => { opened = true; });
  assert.ok(opened);
  assert.deepEqual(seen, [["guests", [{ name: "Ann" }]], ["show", { guests: 1 }], ["files", { files: [] }]]);
  await assert.rejects(new StudioApi("nope", fetchAt).events(() => {}), KeyRefused);
});

test("figures read at a glance", () => {
  assert.equal(duration(3725.9), "1:02:05");
  assert.equal(bytes(12_400_000), "12.4 MB");
  const rows = guestFigures({ recording: true, recording_seconds: 61, file_bytes: 2048, resolution: "1280x720",
    fps: 29.97, kbps: 2500.4, loss_percent: 0.25, ice_pair: "via TURN relay",
    guest_recording: { state: "receiving", bytes: 5e6, uploaded_percent: 80 } });
  assert.deepEqual(rows, [["Recorded", "0:01:01, 2 kB"], ["Picture", "1280x720 at 30 fps"], ["Bitrate", "2500 kbps"],
    ["Loss", "0.3%"], ["Path", "via TURN relay"], ["Upload", "80%, 5.0 MB (receiving)"]]);
});

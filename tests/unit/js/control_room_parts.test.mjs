// The control room's talkback button held down (renewed while held, let go on release or
// when the pointer leaves) and the export's status line, without a browser.
import { test } from "node:test";
import assert from "node:assert/strict";

import { HoldToTalk, RENEW_MS } from "../../../lib/guestrec/control_page/control_talkback.js";
import { ExportPanel, exportSummary } from "../../../lib/guestrec/control_page/control_export.js";

function fakeTimers() {
  const timers = { now: 0, queue: [] };
  timers.setTimeout = (fn, ms) => { const t = { at: timers.now + ms, fn }; timers.queue.push(t); return t; };
  timers.clearTimeout = (t) => { timers.queue = timers.queue.filter((x) => x !== t); };
  timers.advance = (ms) => {
    const until = timers.now + ms;
    for (;;) {
      timers.queue.sort((a, b) => a.at - b.at);
      const next = timers.queue[0];
      if (!next || next.at > until) break;
      timers.queue.shift();
      timers.now = next.at;
      next.fn();
    }
    timers.now = until;
  };
  return timers;
}

function key(type, k, repeat = false) {
  const event = new Event(type);
  event.key = k;
  event.repeat = repeat;
  return event;
}

test("talkback is sent while the button is held, renewed, and ended on release", () => {
  const target = new EventTarget();
  const sent = [];
  const changes = [];
  const timers = fakeTimers();
  new HoldToTalk(target, (on) => { sent.push(on); return Promise.resolve({}); }, (a) => changes.push(a), timers);
  target.dispatchEvent(new Event("pointerdown"));
  target.dispatchEvent(new Event("pointerdown"));  // a second press while held: nothing new
  assert.deepEqual(sent, [true]);
  timers.advance(RENEW_MS * 2 + 10);
  assert.deepEqual(sent, [true, true, true]);
  target.dispatchEvent(new Event("pointerleave"));
  assert.deepEqual(sent, [true, true, true, false]);
  timers.advance(RENEW_MS * 3);
  assert.deepEqual(sent, [true, true, true, false], "no renewal after release");
  assert.deepEqual(changes, [true, false]);
});

test("talkback from the keyboard: Space down talks, a key repeat does not send again, Space up ends", () => {
  const target = new EventTarget();
  const sent = [];
  const timers = fakeTimers();
  new HoldToTalk(target, (on) => { sent.push(on); return Promise.reject(new Error("offline")); }, null, timers);
  target.dispatchEvent(key("keydown", " "));
  target.dispatchEvent(key("keydown", " ", true));
  target.dispatchEvent(key("keyup", " "));
  target.dispatchEvent(key("keyup", " "));
  assert.deepEqual(sent, [true, false]);
});

test("the export's status line says what runs, where the export went, or why it failed", () => {
  assert.deepEqual(exportSummary({ state: "idle" }), { text: "" });
  const running = exportSummary({ state: "running", session: "Session 2026-01-01 10-00-00",
    current: "export: proxy 1/2 Ann.mov:  40%" });
  assert.equal(running.busy, true);
  assert.equal(running.text, "Exporting Session 2026-01-01 10-00-00… proxy 1/2 Ann.mov:  40%");
  const done = exportSummary({ state: "done", session: "S", files: 9, export_folder: "/rec/S/export" });
  assert.match(done.text, /^Exported S: 9 files in \/rec\/S\/export/);
  const failed = exportSummary({ state: "failed", session: "S", error: "the session is still recording (Ann.webm)." });
  assert.equal(failed.bad, true);
  assert.match(failed.text, /still recording \(Ann\.webm\)/);
});

function fakeElement() {
  const el = new EventTarget();
  el.dataset = {};
  el.textContent = "";
  el.children = [];
  el.classList = { names: new Set(), toggle(name, on) { if (on) this.names.add(name); else this.names.delete(name); } };
  el.replaceChildren = (...kids) => { el.children = kids; };
  return el;
}

test("an export's end told by the event stream before the start's answer is not undone by it", async () => {
  const doc = { createElement: () => fakeElement() };
  let answer;
  const api = { call: () => new Promise((done) => { answer = done; }) };
  const els = { button: fakeElement(), proxies: { checked: false }, note: fakeElement(), lines: fakeElement() };
  const panel = new ExportPanel(doc, api, els);
  els.button.dispatchEvent(new Event("click"));
  const failed = { state: "failed", session: "S", started: 5, error: "the session is still recording (A.webm).",
    lines: ["export of S started", "export of S failed: ..."] };
  panel.update(failed);  // the stream, first
  answer({ state: "running", session: "S", started: 5, current: "", lines: [] });  // then the POST's answer
  await new Promise((done) => setTimeout(done, 0));
  assert.equal(els.note.dataset.state, "failed");
  assert.match(els.note.textContent, /still recording \(A\.webm\)/);
  assert.equal(els.button.disabled, false);
  assert.equal(els.lines.children.length, 2);
});

// The screen share's pure parts: whether a browser can share, the guest's own session id
// from its WHIP resource, what getDisplayMedia is asked for, refusals in words, the button
// in each phase; and the button's life on a page without getDisplayMedia or when the guest
// cancels the picker (stand-ins for the browser's elements: Node has no DOM).
import { test } from "node:test";
import assert from "node:assert/strict";

import {
  SCREEN_HEADER, SCREEN_MAX_KBPS, ScreenShare, buttonFor, canShareScreen, captureErrorText, displayOptions,
  sessionIdOf,
} from "../../../lib/guestrec/guest_page/screen_share.js";
import { screenText } from "../../../lib/guestrec/guest_page/guest_texts.js";

function element() {
  const listeners = {};
  return {
    hidden: false, disabled: false, textContent: "", attributes: {},
    addEventListener(type, fn) { listeners[type] = fn; },
    setAttribute(name, value) { this.attributes[name] = value; },
    fire(type) { return listeners[type](); },
  };
}

test("only browsers with getDisplayMedia can share", () => {
  assert.equal(canShareScreen({ mediaDevices: { getDisplayMedia() {} } }), true);
  assert.equal(canShareScreen({ mediaDevices: { getUserMedia() {} } }), false); // a phone
  assert.equal(canShareScreen({}), false);
  assert.equal(canShareScreen(undefined), false);
});

test("the guest's session id comes from its WHIP resource", () => {
  assert.equal(sessionIdOf("http://127.0.0.1:8080/whip/session/abc_DEF-12"), "abc_DEF-12");
  assert.equal(sessionIdOf("https://studio.example/sub/whip/session/x%2Dy?token=t"), "x-y");
  assert.equal(sessionIdOf("http://127.0.0.1/whip/Ann"), null);
  assert.equal(sessionIdOf(null), null);
  assert.equal(SCREEN_HEADER, "Guestrec-Screen-Of");
});

test("the screen is asked for with its sound, never this tab, at up to 30 fps", () => {
  const options = displayOptions();
  assert.equal(options.audio, true);
  assert.equal(options.selfBrowserSurface, "exclude");
  assert.equal(options.video.frameRate.max, 30);
  assert.ok(SCREEN_MAX_KBPS >= 1000 && SCREEN_MAX_KBPS <= 6000);
});

test("refusals from the browser in words for the guest", () => {
  assert.equal(captureErrorText({ name: "NotAllowedError", message: "Permission denied" }), screenText("cancelled"));
  assert.equal(captureErrorText({ name: "NotReadableError" }), screenText("unreadable"));
  const odd = captureErrorText({ name: "TypeError", message: "bad options" });
  assert.ok(odd.startsWith(screenText("cannot-share")) && odd.includes("bad options"), odd);
});

test("the button: Share when the camera is connected, Stop while sharing, busy in between", () => {
  assert.deepEqual(buttonFor("off", false), { label: "Share screen", pressed: false, disabled: true });
  assert.deepEqual(buttonFor("off", true), { label: "Share screen", pressed: false, disabled: false });
  assert.equal(buttonFor("starting", true).disabled, true);
  // A running share can be stopped even while the camera reconnects.
  assert.deepEqual(buttonFor("on", false), { label: "Stop sharing", pressed: true, disabled: false });
  assert.equal(buttonFor("stopping", true).disabled, true);
});

test("every screen text exists; the note says the guest's own recording is the camera's", () => {
  for (const key of ["share-button", "stop-button", "choosing", "refused", "stopped-button", "stopped-browser",
    "stopped-studio", "stopped-lost", "stopped-left", "stopped-refused"]) {
    assert.equal(typeof screenText(key), "string", key);
  }
  assert.match(screenText("sharing"), /camera only/);
  assert.match(screenText("sharing-with-sound"), /camera only/);
  assert.throws(() => screenText("nope"));
});

test("no getDisplayMedia: the button stays hidden and does nothing", () => {
  const ui = { button: element(), note: element() };
  const share = new ScreenShare(ui, { mediaDevices: {} }, {}, () => ({ resource: "/whip/session/a", name: "Ann" }),
    () => assert.fail("no error expected"));
  share.allow(true);
  assert.equal(ui.button.hidden, true);
  assert.equal(ui.button.disabled, true);
});

test("a cancelled picker: nothing is sent, the guest is told, Share works again", async () => {
  const ui = { button: element(), note: element() };
  const errors = [];
  const requests = { iceServers() { assert.fail("nothing goes to the studio"); } };
  const nav = {
    mediaDevices: {
      async getDisplayMedia() { const e = new Error("Permission denied"); e.name = "NotAllowedError"; throw e; },
    },
  };
  const share = new ScreenShare(ui, nav, requests, () => ({ resource: "http://s/whip/session/abc", name: "Ann" }),
    (text) => errors.push(text));
  assert.equal(ui.button.hidden, false);
  assert.equal(ui.button.disabled, true); // not in the studio yet
  share.allow(true);
  assert.equal(ui.button.disabled, false);
  await share.start();
  assert.deepEqual(errors, [screenText("cancelled")]);
  assert.equal(share.state.phase, "off");
  assert.equal(ui.button.textContent, "Share screen");
  assert.equal(ui.button.disabled, false);
  assert.equal(ui.note.hidden, true);
});

test("no connection of the guest's own: Share does nothing", async () => {
  const ui = { button: element(), note: element() };
  let asked = 0;
  const nav = { mediaDevices: { async getDisplayMedia() { asked += 1; return null; } } };
  const share = new ScreenShare(ui, nav, {}, () => null, () => {});
  share.allow(true);
  await share.start();
  assert.equal(asked, 0);
  assert.equal(share.state.phase, "off");
});

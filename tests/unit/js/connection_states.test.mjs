// The guest page's connection state machine: every transition, what it asks the page to
// do, and the events each state refuses.
import { test } from "node:test";
import assert from "node:assert/strict";

import {
  ConnectionMachine, Ev, State, controlsFor, eventsIn, flagsFor, initial, peerEvent, transition,
} from "../../../lib/guestrec/guest_page/connection_states.js";
import { errorText, statusText, studioMessageText } from "../../../lib/guestrec/guest_page/guest_texts.js";

const S = State;
const types = (effects) => effects.map((e) => e.type);
const at = (state, run = 1, name = "Ann") => Object.freeze({ state, run, name });

// Every event with what a report of the current run would carry.
function eventFor(type, run) {
  const extra = {
    [Ev.JOIN]: { name: "Bob" }, [Ev.STUDIO_BUSY]: { seconds: 3 }, [Ev.JOIN_FAILED]: { message: "no" },
    [Ev.RECONNECT_FAILED]: { message: "refused" }, [Ev.JOINED]: { connected: false },
    [Ev.STUDIO_ENDED]: { hungUp: false },
  }[type] || {};
  return Object.assign({ type, run }, extra);
}

// The whole table, written out once more: [from, event, to].
const EXPECTED = [
  [S.IDLE, Ev.JOIN, S.JOINING], [S.ENDED, Ev.JOIN, S.JOINING], [S.FAILED, Ev.JOIN, S.JOINING],
  [S.JOINING, Ev.STUDIO_BUSY, S.WAITING_FOR_ROOM], [S.JOINING, Ev.JOINED, S.AWAITING_MEDIA],
  [S.JOINING, Ev.JOIN_FAILED, S.FAILED], [S.JOINING, Ev.STUDIO_ENDED, S.ENDED],
  [S.JOINING, Ev.HANG_UP, S.IDLE], [S.JOINING, Ev.PAGE_HIDDEN, S.JOINING],
  [S.WAITING_FOR_ROOM, Ev.STUDIO_BUSY, S.WAITING_FOR_ROOM], [S.WAITING_FOR_ROOM, Ev.OFFER_RESENT, S.JOINING],
  [S.WAITING_FOR_ROOM, Ev.JOINED, S.AWAITING_MEDIA], [S.WAITING_FOR_ROOM, Ev.JOIN_FAILED, S.FAILED],
  [S.WAITING_FOR_ROOM, Ev.STUDIO_ENDED, S.ENDED], [S.WAITING_FOR_ROOM, Ev.HANG_UP, S.IDLE],
  [S.WAITING_FOR_ROOM, Ev.PAGE_HIDDEN, S.WAITING_FOR_ROOM],
  [S.AWAITING_MEDIA, Ev.PEER_CONNECTED, S.CONNECTED], [S.AWAITING_MEDIA, Ev.PEER_DISCONNECTED, S.AWAITING_MEDIA],
  [S.AWAITING_MEDIA, Ev.PEER_FAILED, S.FAILED], [S.AWAITING_MEDIA, Ev.MEDIA_TIMEOUT, S.FAILED],
  [S.AWAITING_MEDIA, Ev.STUDIO_ENDED, S.ENDED], [S.AWAITING_MEDIA, Ev.HANG_UP, S.IDLE],
  [S.AWAITING_MEDIA, Ev.PAGE_HIDDEN, S.AWAITING_MEDIA],
  [S.CONNECTED, Ev.PEER_DISCONNECTED, S.INTERRUPTED], [S.CONNECTED, Ev.DROPPED, S.RECONNECTING],
  [S.CONNECTED, Ev.STUDIO_ENDED, S.ENDED], [S.CONNECTED, Ev.HANG_UP, S.IDLE],
  [S.CONNECTED, Ev.PAGE_HIDDEN, S.CONNECTED],
  [S.INTERRUPTED, Ev.PEER_CONNECTED, S.CONNECTED], [S.INTERRUPTED, Ev.DROPPED, S.RECONNECTING],
  [S.INTERRUPTED, Ev.STUDIO_ENDED, S.ENDED], [S.INTERRUPTED, Ev.HANG_UP, S.IDLE],
  [S.INTERRUPTED, Ev.PAGE_HIDDEN, S.INTERRUPTED],
  [S.RECONNECTING, Ev.STUDIO_BUSY, S.RECONNECTING], [S.RECONNECTING, Ev.RECONNECTED, S.CONNECTED],
  [S.RECONNECTING, Ev.RECONNECT_FAILED, S.FAILED], [S.RECONNECTING, Ev.GAVE_UP, S.FAILED],
  [S.RECONNECTING, Ev.STUDIO_ENDED, S.ENDED], [S.RECONNECTING, Ev.HANG_UP, S.IDLE],
  [S.RECONNECTING, Ev.PAGE_HIDDEN, S.RECONNECTING],
];

test("every state and event pair goes where the table says, and nowhere else", () => {
  const expected = new Map(EXPECTED.map(([from, ev, to]) => [from + " " + ev, to]));
  let taken = 0;
  for (const from of Object.values(S)) {
    for (const ev of Object.values(Ev)) {
      const step = transition(at(from), eventFor(ev, 1));
      const want = expected.get(from + " " + ev);
      if (want === undefined) {
        assert.equal(step.accepted, false, `${from} must refuse ${ev}`);
        assert.equal(step.machine.state, from);
        assert.deepEqual(step.effects, []);
        assert.match(step.ignored, /^not in /);
      } else {
        assert.equal(step.accepted, true, `${from} must take ${ev}`);
        assert.equal(step.machine.state, want, `${from} + ${ev}`);
        taken += 1;
      }
    }
  }
  assert.equal(taken, EXPECTED.length);
  for (const from of Object.values(S)) {
    assert.deepEqual(eventsIn(from).sort(), EXPECTED.filter((r) => r[0] === from).map((r) => r[1]).sort());
  }
});

test("a report from an earlier run is stale and changes nothing", () => {
  const cases = [
    [S.JOINING, Ev.JOINED], [S.JOINING, Ev.JOIN_FAILED], [S.JOINING, Ev.STUDIO_BUSY],
    [S.WAITING_FOR_ROOM, Ev.OFFER_RESENT], [S.AWAITING_MEDIA, Ev.MEDIA_TIMEOUT],
    [S.RECONNECTING, Ev.RECONNECTED], [S.RECONNECTING, Ev.RECONNECT_FAILED], [S.RECONNECTING, Ev.GAVE_UP],
  ];
  for (const [from, ev] of cases) {
    const m = at(from, 4);
    const step = transition(m, eventFor(ev, 3));
    assert.equal(step.accepted, false, `${from} + stale ${ev}`);
    assert.equal(step.ignored, "stale");
    assert.equal(step.machine, m);
    assert.deepEqual(step.effects, []);
  }
  // The guest's own events and the peer's carry no run.
  assert.equal(transition(at(S.CONNECTED, 4), { type: Ev.HANG_UP }).accepted, true);
  assert.equal(transition(at(S.AWAITING_MEDIA, 4), { type: Ev.PEER_CONNECTED }).accepted, true);
});

test("join starts a new run, remembers the typed name and connects", () => {
  const step = transition(initial(), { type: Ev.JOIN, name: "Zoë" });
  assert.deepEqual(step.machine, { state: S.JOINING, run: 1, name: "Zoë" });
  assert.deepEqual(step.effects, [
    { type: "mark-join-start" }, { type: "status", say: "connecting" },
    { type: "connect", run: 1, name: "Zoë" },
  ]);
  const again = transition(at(S.FAILED, 5, "Zoë"), { type: Ev.JOIN, name: "Zed" });
  assert.deepEqual(again.machine, { state: S.JOINING, run: 6, name: "Zed" });
});

test("a busy studio is waited out and the offer sent again; while reconnecting too", () => {
  const busy = transition(at(S.JOINING), { type: Ev.STUDIO_BUSY, run: 1, seconds: 5 });
  assert.equal(busy.machine.state, S.WAITING_FOR_ROOM);
  assert.deepEqual(busy.effects, [{ type: "status", say: "busy", seconds: 5 }]);
  const resent = transition(busy.machine, { type: Ev.OFFER_RESENT, run: 1 });
  assert.equal(resent.machine.state, S.JOINING);
  assert.deepEqual(resent.effects, []);
  const back = transition(at(S.RECONNECTING), { type: Ev.STUDIO_BUSY, run: 1, seconds: 2 });
  assert.equal(back.machine.state, S.RECONNECTING);
  assert.deepEqual(back.effects, [{ type: "status", say: "busy", seconds: 2 }]);
});

test("the studio's answer: wait for the media, or connected at once", () => {
  const waiting = transition(at(S.JOINING, 2), { type: Ev.JOINED, run: 2, connected: false });
  assert.equal(waiting.machine.state, S.AWAITING_MEDIA);
  assert.deepEqual(waiting.effects, [
    { type: "wait-for-media", run: 2 }, { type: "watch-quality" }, { type: "status", say: "waiting-for-connection" },
  ]);
  const now = transition(at(S.WAITING_FOR_ROOM, 2), { type: Ev.JOINED, run: 2, connected: true });
  assert.equal(now.machine.state, S.CONNECTED);
  assert.deepEqual(types(now.effects), ["watch-quality", "mark-connected", "watch-drop", "status"]);
});

test("first connection is timed and watched for drops; a blip heals without a new watch", () => {
  const first = transition(at(S.AWAITING_MEDIA), { type: Ev.PEER_CONNECTED });
  assert.deepEqual(first.effects, [
    { type: "mark-connected" }, { type: "watch-drop" }, { type: "status", say: "connected" },
  ]);
  const blip = transition(first.machine, { type: Ev.PEER_DISCONNECTED });
  assert.equal(blip.machine.state, S.INTERRUPTED);
  assert.deepEqual(blip.effects, [{ type: "status", say: "interrupted" }]);
  const healed = transition(blip.machine, { type: Ev.PEER_CONNECTED });
  assert.equal(healed.machine.state, S.CONNECTED);
  assert.deepEqual(healed.effects, [{ type: "status", say: "connected" }]);
  // Not yet connected and disconnected: said, but still waiting for the media.
  const early = transition(at(S.AWAITING_MEDIA), { type: Ev.PEER_DISCONNECTED });
  assert.equal(early.machine.state, S.AWAITING_MEDIA);
  assert.deepEqual(early.effects, [{ type: "status", say: "interrupted" }]);
});

test("media that never gets through: the guest is told why and the slot freed", () => {
  for (const ev of [{ type: Ev.PEER_FAILED }, { type: Ev.MEDIA_TIMEOUT, run: 3 }]) {
    const step = transition(at(S.AWAITING_MEDIA, 3), ev);
    assert.deepEqual(step.machine, { state: S.FAILED, run: 4, name: "Ann" });
    assert.deepEqual(step.effects, [
      { type: "mark-unreachable" }, { type: "error", say: "media-unreachable" }, { type: "forget-resume" },
      { type: "leave", sendDelete: true, wasInCall: true },
    ]);
  }
});

test("a drop closes the old connection quietly and rejoins under the typed name", () => {
  for (const from of [S.CONNECTED, S.INTERRUPTED]) {
    const step = transition(at(from, 7, "Gil"), { type: Ev.DROPPED });
    assert.deepEqual(step.machine, { state: S.RECONNECTING, run: 7, name: "Gil" });
    assert.deepEqual(step.effects, [
      { type: "mark-drop" }, { type: "status", say: "reconnecting" }, { type: "drop-peer" },
      { type: "rejoin", run: 7, name: "Gil" },
    ]);
    assert.ok(!types(step.effects).includes("leave"), "no DELETE: the studio keeps the take");
  }
  const back = transition(at(S.RECONNECTING, 7), { type: Ev.RECONNECTED, run: 7 });
  assert.equal(back.machine.state, S.CONNECTED);
  assert.deepEqual(back.effects, [
    { type: "mark-reconnected" }, { type: "watch-quality" }, { type: "watch-drop" },
    { type: "status", say: "reconnected" },
  ]);
});

test("no way back: refused, or out of time", () => {
  const refused = transition(at(S.RECONNECTING, 2), { type: Ev.RECONNECT_FAILED, run: 2, message: "token old" });
  assert.deepEqual(refused.machine, { state: S.FAILED, run: 3, name: "Ann" });
  assert.deepEqual(refused.effects, [
    { type: "error", text: "token old" }, { type: "leave", sendDelete: false, wasInCall: true },
  ]);
  const lost = transition(at(S.RECONNECTING, 2), { type: Ev.GAVE_UP, run: 2 });
  assert.deepEqual(lost.effects, [
    { type: "error", say: "connection-lost" }, { type: "leave", sendDelete: false, wasInCall: true },
  ]);
  const joinRefused = transition(at(S.JOINING, 2), { type: Ev.JOIN_FAILED, run: 2, message: "wrong token" });
  assert.deepEqual(joinRefused.effects, [
    { type: "error", text: "wrong token" }, { type: "leave", sendDelete: false, wasInCall: false },
  ]);
});

test("the studio ends the call or the session: no reconnect, the guest's recording stops", () => {
  const hungUp = transition(at(S.CONNECTED, 1), { type: Ev.STUDIO_ENDED, hungUp: true });
  assert.deepEqual(hungUp.machine, { state: S.ENDED, run: 2, name: "Ann" });
  assert.deepEqual(hungUp.effects, [
    { type: "stop-guest-recording" }, { type: "forget-resume" }, { type: "studio-message", say: "hung-up" },
    { type: "leave", sendDelete: false, wasInCall: true, say: "call-ended" },
  ]);
  const stopped = transition(at(S.RECONNECTING, 1), { type: Ev.STUDIO_ENDED, hungUp: false });
  assert.deepEqual(stopped.effects, [
    { type: "stop-guest-recording" }, { type: "forget-resume" },
    { type: "leave", sendDelete: false, wasInCall: true, say: "session-ended" },
  ]);
  // Ended: whatever the old run still reports is refused, a drop starts nothing.
  assert.equal(transition(stopped.machine, { type: Ev.DROPPED }).accepted, false);
  assert.equal(transition(stopped.machine, { type: Ev.RECONNECTED, run: 1 }).accepted, false);
});

test("hanging up sends the DELETE and forgets the resume secret", () => {
  const step = transition(at(S.INTERRUPTED, 9), { type: Ev.HANG_UP });
  assert.deepEqual(step.machine, { state: S.IDLE, run: 10, name: "Ann" });
  assert.deepEqual(step.effects, [
    { type: "stop-guest-recording" }, { type: "forget-resume" },
    { type: "leave", sendDelete: true, wasInCall: true },
  ]);
  const early = transition(at(S.JOINING, 9), { type: Ev.HANG_UP });
  assert.equal(early.effects.at(-1).wasInCall, false);
});

test("closing the tab says goodbye without changing state", () => {
  const m = at(S.CONNECTED, 4);
  const step = transition(m, { type: Ev.PAGE_HIDDEN });
  assert.deepEqual(step.machine, m);
  assert.deepEqual(step.effects, [{ type: "farewell" }]);
});

test("flags and controls follow the state", () => {
  assert.deepEqual(flagsFor(S.IDLE), { connection: "idle", joined: false, connected: false, reconnecting: false, ended: false });
  assert.deepEqual(flagsFor(S.CONNECTED), { connection: "connected", joined: true, connected: true, reconnecting: false, ended: false });
  assert.deepEqual(flagsFor(S.INTERRUPTED), { connection: "interrupted", joined: true, connected: false, reconnecting: false, ended: false });
  assert.deepEqual(flagsFor(S.RECONNECTING), { connection: "reconnecting", joined: true, connected: false, reconnecting: true, ended: false });
  assert.deepEqual(flagsFor(S.ENDED), { connection: "ended", joined: false, connected: false, reconnecting: false, ended: true });
  assert.equal(flagsFor(S.JOINING).joined, false);
  assert.equal(flagsFor(S.AWAITING_MEDIA).joined, true);
  for (const s of [S.IDLE, S.ENDED, S.FAILED]) assert.deepEqual(controlsFor(s), { join: true, name: true, hangup: false });
  for (const s of [S.JOINING, S.WAITING_FOR_ROOM]) assert.deepEqual(controlsFor(s), { join: false, name: false, hangup: false });
  for (const s of [S.AWAITING_MEDIA, S.CONNECTED, S.INTERRUPTED, S.RECONNECTING]) {
    assert.deepEqual(controlsFor(s), { join: false, name: false, hangup: true });
  }
});

test("the peer's states that matter become events", () => {
  assert.equal(peerEvent("connected"), Ev.PEER_CONNECTED);
  assert.equal(peerEvent("disconnected"), Ev.PEER_DISCONNECTED);
  assert.equal(peerEvent("failed"), Ev.PEER_FAILED);
  for (const s of ["new", "connecting", "closed", undefined]) assert.equal(peerEvent(s), null);
});

test("every text an effect names exists", () => {
  const seen = [];
  for (const [from, ev] of EXPECTED) {
    for (const hungUp of [false, true]) {
      const event = Object.assign(eventFor(ev, 1), ev === Ev.STUDIO_ENDED ? { hungUp } : {});
      seen.push(...transition(at(from), event).effects);
    }
  }
  const info = { guest: "Ann", seconds: 3, status: 404 };
  for (const e of seen) {
    if (e.type === "status") assert.ok(statusText(e.say, info).length > 3, e.say);
    if (e.type === "error" && e.say) assert.ok(errorText(e.say).length > 10, e.say);
    if (e.type === "studio-message") assert.ok(studioMessageText(e.say).length > 10, e.say);
    if (e.type === "leave") assert.ok(statusText(e.say || "not-connected", info).length > 3);
  }
  assert.equal(statusText("busy", { seconds: 4 }), "The studio is letting other guests in; trying again in 4 s…");
  assert.equal(statusText("reconnected", { guest: "Gil" }), "Connected to the studio as Gil (reconnected).");
  assert.throws(() => statusText("no-such-key"));
});

test("the machine object keeps its state across a whole call", () => {
  const m = new ConnectionMachine();
  const path = [
    [{ type: Ev.JOIN, name: "Eve" }, S.JOINING],
    [{ type: Ev.STUDIO_BUSY, run: 1, seconds: 1 }, S.WAITING_FOR_ROOM],
    [{ type: Ev.OFFER_RESENT, run: 1 }, S.JOINING],
    [{ type: Ev.JOINED, run: 1, connected: false }, S.AWAITING_MEDIA],
    [{ type: Ev.PEER_CONNECTED }, S.CONNECTED],
    [{ type: Ev.JOIN, name: "Again" }, S.CONNECTED], // refused: already in
    [{ type: Ev.DROPPED }, S.RECONNECTING],
    [{ type: Ev.DROPPED }, S.RECONNECTING], // refused: already coming back
    [{ type: Ev.RECONNECTED, run: 1 }, S.CONNECTED],
    [{ type: Ev.HANG_UP }, S.IDLE],
    [{ type: Ev.MEDIA_TIMEOUT, run: 1 }, S.IDLE], // the first join's timer, too late
  ];
  for (const [event, want] of path) {
    m.send(event);
    assert.equal(m.state, want, JSON.stringify(event));
  }
  assert.equal(m.run, 2);
  assert.equal(m.name, "Eve");
});

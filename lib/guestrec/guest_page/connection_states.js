// The guest page's connection to the studio as an explicit state machine.
//
// Events come in (the guest's buttons, the studio's answers, the peer connection's state,
// timers); the machine answers with its next state and the effects to carry out, which
// guest.js does. Pure: no DOM, no timers, no network, so Node's test runner can check
// every transition.
//
// A "run" is one stay in the studio, from Join until the page leaves for whatever reason.
// Work started for a run (an offer, a media wait, a reconnect loop) reports back with its
// run number; a report from an earlier run is stale and ignored.

export const State = Object.freeze({
  IDLE: "idle", // not in the studio (the page has just opened, or the guest hung up)
  JOINING: "joining", // asking the studio for ICE servers, sending the offer
  WAITING_FOR_ROOM: "waiting-for-room", // the studio answered 503 + Retry-After: wait, send again
  AWAITING_MEDIA: "awaiting-media", // the studio answered; camera and microphone not through yet
  CONNECTED: "connected",
  INTERRUPTED: "interrupted", // the browser calls the connection disconnected: may heal by itself
  RECONNECTING: "reconnecting", // it dropped: new connections under the same name
  ENDED: "ended", // the studio ended the call or the session: nothing to come back to
  FAILED: "failed", // refused, unreachable, or lost for good; Join tries again
});

export const Ev = Object.freeze({
  JOIN: "join", // {name}: the guest pressed Join
  STUDIO_BUSY: "studio-busy", // {run, seconds}: 503 + Retry-After
  OFFER_RESENT: "offer-resent", // {run}: the wait is over, the offer goes again
  JOINED: "joined", // {run, connected}: the studio's answer is in place
  JOIN_FAILED: "join-failed", // {run, message}
  PEER_CONNECTED: "peer-connected",
  PEER_DISCONNECTED: "peer-disconnected",
  PEER_FAILED: "peer-failed",
  MEDIA_TIMEOUT: "media-timeout", // {run}: the media did not get through in time
  DROPPED: "dropped", // the drop watch gave up on the connection
  RECONNECTED: "reconnected", // {run}
  RECONNECT_FAILED: "reconnect-failed", // {run, message}: the studio refused the way back
  GAVE_UP: "gave-up", // {run}: no new connection in time
  STUDIO_ENDED: "studio-ended", // {hungUp}: the operator hung up, or OBS or the server stopped
  HANG_UP: "hang-up", // the guest pressed Hang up
  PAGE_HIDDEN: "page-hidden", // the tab closes
});

// Reports of work started for a run; they carry its number.
const RUN_SCOPED = new Set([
  Ev.STUDIO_BUSY, Ev.OFFER_RESENT, Ev.JOINED, Ev.JOIN_FAILED, Ev.MEDIA_TIMEOUT,
  Ev.RECONNECTED, Ev.RECONNECT_FAILED, Ev.GAVE_UP,
]);

const S = State;
// Where the guest has a place in the studio (a session the studio knows about).
const IN_CALL = new Set([S.AWAITING_MEDIA, S.CONNECTED, S.INTERRUPTED, S.RECONNECTING]);
// Where the guest may press Join.
const OPEN = new Set([S.IDLE, S.ENDED, S.FAILED]);

// -- what each transition does -------------------------------------------------------------

function begin(m, event) {
  const run = m.run + 1;
  return {
    to: S.JOINING, run, name: event.name,
    effects: [{ type: "mark-join-start" }, { type: "status", say: "connecting" },
      { type: "connect", run, name: event.name }],
  };
}

function busy(m, event) {
  return { to: m.state === S.RECONNECTING ? S.RECONNECTING : S.WAITING_FOR_ROOM,
    effects: [{ type: "status", say: "busy", seconds: event.seconds }] };
}

function resent() {
  return { to: S.JOINING, effects: [] };
}

function answered(m, event) {
  if (event.connected) {
    return { to: S.CONNECTED, effects: [{ type: "watch-quality" }, ...firstConnected()] };
  }
  return {
    to: S.AWAITING_MEDIA,
    effects: [{ type: "wait-for-media", run: m.run }, { type: "watch-quality" },
      { type: "status", say: "waiting-for-connection" }],
  };
}

function firstConnected() {
  return [{ type: "mark-connected" }, { type: "watch-drop" }, { type: "status", say: "connected" }];
}

function connected() {
  return { to: S.CONNECTED, effects: firstConnected() };
}

function healed() {
  return { to: S.CONNECTED, effects: [{ type: "status", say: "connected" }] };
}

function interrupted(m) {
  return { to: m.state === S.CONNECTED ? S.INTERRUPTED : m.state,
    effects: [{ type: "status", say: "interrupted" }] };
}

// Leaving the studio: a new run, so whatever the old one started reports in vain.
function leaving(m, to, effects, leave) {
  return {
    to, run: m.run + 1,
    effects: [...effects, Object.assign({ type: "leave", sendDelete: false, wasInCall: IN_CALL.has(m.state) }, leave)],
  };
}

function failed(m, event) {
  return leaving(m, S.FAILED, [{ type: "error", text: event.message }]);
}

// The camera and microphone cannot reach the studio (the studio then logs which candidates
// each side had); leaving with a DELETE frees its slot at once.
function unreachable(m) {
  return leaving(m, S.FAILED, [{ type: "mark-unreachable" }, { type: "error", say: "media-unreachable" },
    { type: "forget-resume" }], { sendDelete: true });
}

// The old connection is closed without a DELETE: a DELETE tells the studio the guest
// left, which would end the recording instead of continuing it.
function dropped(m) {
  return {
    to: S.RECONNECTING,
    effects: [{ type: "mark-drop" }, { type: "status", say: "reconnecting" }, { type: "drop-peer" },
      { type: "rejoin", run: m.run, name: m.name }],
  };
}

function reconnected() {
  return {
    to: S.CONNECTED,
    effects: [{ type: "mark-reconnected" }, { type: "watch-quality" }, { type: "watch-drop" },
      { type: "status", say: "reconnected" }],
  };
}

function gaveUp(m) {
  return leaving(m, S.FAILED, [{ type: "error", say: "connection-lost" }]);
}

function studioEnded(m, event) {
  const effects = [{ type: "stop-guest-recording" }, { type: "forget-resume" }];
  if (event.hungUp) effects.push({ type: "studio-message", say: "hung-up" });
  return leaving(m, S.ENDED, effects, { say: event.hungUp ? "call-ended" : "session-ended" });
}

// Hanging up stops the recording on this computer too (before the camera is let go).
function hangUp(m) {
  return leaving(m, S.IDLE, [{ type: "stop-guest-recording" }, { type: "forget-resume" }], { sendDelete: true });
}

function farewell(m) {
  return { to: m.state, effects: [{ type: "farewell" }] };
}

// -- the transition table: state -> event -> what happens ------------------------------------

const LEAVE_ANY_TIME = {
  [Ev.STUDIO_ENDED]: studioEnded, [Ev.HANG_UP]: hangUp, [Ev.PAGE_HIDDEN]: farewell,
};

const TABLE = {
  [S.IDLE]: { [Ev.JOIN]: begin },
  [S.ENDED]: { [Ev.JOIN]: begin },
  [S.FAILED]: { [Ev.JOIN]: begin },
  [S.JOINING]: {
    [Ev.STUDIO_BUSY]: busy, [Ev.JOINED]: answered, [Ev.JOIN_FAILED]: failed, ...LEAVE_ANY_TIME,
  },
  [S.WAITING_FOR_ROOM]: {
    [Ev.STUDIO_BUSY]: busy, [Ev.OFFER_RESENT]: resent, [Ev.JOINED]: answered,
    [Ev.JOIN_FAILED]: failed, ...LEAVE_ANY_TIME,
  },
  [S.AWAITING_MEDIA]: {
    [Ev.PEER_CONNECTED]: connected, [Ev.PEER_DISCONNECTED]: interrupted,
    [Ev.PEER_FAILED]: unreachable, [Ev.MEDIA_TIMEOUT]: unreachable, ...LEAVE_ANY_TIME,
  },
  [S.CONNECTED]: {
    [Ev.PEER_DISCONNECTED]: interrupted, [Ev.DROPPED]: dropped, ...LEAVE_ANY_TIME,
  },
  [S.INTERRUPTED]: {
    [Ev.PEER_CONNECTED]: healed, [Ev.DROPPED]: dropped, ...LEAVE_ANY_TIME,
  },
  [S.RECONNECTING]: {
    [Ev.STUDIO_BUSY]: busy, [Ev.RECONNECTED]: reconnected, [Ev.RECONNECT_FAILED]: failed,
    [Ev.GAVE_UP]: gaveUp, ...LEAVE_ANY_TIME,
  },
};

// -- the machine ---------------------------------------------------------------------------

export function initial() {
  return Object.freeze({ state: S.IDLE, run: 0, name: "" });
}

// The next machine and the effects of `event` ({type, ...}). An event the state does not
// take, or a stale report, changes nothing: accepted false, no effects, `ignored` says why.
export function transition(m, event) {
  const handler = TABLE[m.state] && TABLE[m.state][event.type];
  if (!handler) return { machine: m, effects: [], accepted: false, ignored: "not in " + m.state };
  if (RUN_SCOPED.has(event.type) && event.run !== m.run) {
    return { machine: m, effects: [], accepted: false, ignored: "stale" };
  }
  const step = handler(m, event);
  const machine = Object.freeze({
    state: step.to, run: step.run === undefined ? m.run : step.run,
    name: step.name === undefined ? m.name : step.name,
  });
  return { machine, effects: step.effects, accepted: true, ignored: null };
}

// The events a state takes (for tests and for the console).
export function eventsIn(state) {
  return Object.keys(TABLE[state] || {});
}

// A peer connection's connectionState as an event, or null when the machine needs not hear it.
export function peerEvent(connectionState) {
  return { connected: Ev.PEER_CONNECTED, disconnected: Ev.PEER_DISCONNECTED, failed: Ev.PEER_FAILED }[
    connectionState] || null;
}

// What the page tells tests and the console (window.guestState).
export function flagsFor(state) {
  return {
    connection: state, joined: IN_CALL.has(state), connected: state === S.CONNECTED,
    reconnecting: state === S.RECONNECTING, ended: state === S.ENDED,
  };
}

// Which controls the guest can use. Join also needs the camera to have started once.
export function controlsFor(state) {
  return { join: OPEN.has(state), name: OPEN.has(state), hangup: IN_CALL.has(state) };
}

// Holds the current machine; send() returns what to do.
export class ConnectionMachine {
  constructor() { this.current = initial(); }
  get state() { return this.current.state; }
  get run() { return this.current.run; }
  get name() { return this.current.name; }
  send(event) {
    const step = transition(this.current, event);
    this.current = step.machine;
    return step;
  }
}

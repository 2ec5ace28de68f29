// What the guest page says about its connection, in words a guest understands. The
// connection's states (connection_states.js) name a text by its key; guest.js shows it.

export const MEDIA_UNREACHABLE = "Your camera and microphone could not reach the studio: a network " +
  "between you and the studio blocks the connection. Please tell the studio (it may need a " +
  "TURN server in its settings). Another network, such as a phone's hotspot, may work.";

const STATUS = {
  "connecting": () => "Connecting…",
  "busy": (info) => "The studio is letting other guests in; trying again in " + info.seconds + " s…",
  "waiting-for-connection": () => "Joined. Waiting for the connection…",
  "connected": (info) => "Connected to the studio as " + info.guest + ".",
  "interrupted": () => "Connection interrupted…",
  "reconnecting": () => "Reconnecting…",
  "reconnected": (info) => "Connected to the studio as " + info.guest + " (reconnected).",
  "not-connected": () => "Not connected.",
  "call-ended": () => "The studio ended the call.",
  "session-ended": () => "The studio ended the session.",
  "leaving": () => "Leaving…",
  "left": () => "You left the studio.",
  "left-refused": (info) => "Left (the studio answered " + info.status + ").",
  "left-unreachable": () => "Left (the studio could not be reached).",
};

const ERRORS = {
  "media-unreachable": MEDIA_UNREACHABLE,
  "connection-lost": "The connection to the studio was lost and could not be restored. Press Join to try again.",
  "no-token": "This link has no token: ask the studio for the full guest link.",
};

const STUDIO_MESSAGES = {
  "hung-up": "The studio ended your call. Thank you!",
};

// info: {guest (the name the studio uses), seconds (a busy studio's wait), status (HTTP)}.
export function statusText(key, info) {
  const text = STATUS[key];
  if (!text) throw new Error("no status text for " + key);
  return text(info || {});
}

export function errorText(key) {
  if (!(key in ERRORS)) throw new Error("no error text for " + key);
  return ERRORS[key];
}

export function studioMessageText(key) {
  if (!(key in STUDIO_MESSAGES)) throw new Error("no studio message for " + key);
  return STUDIO_MESSAGES[key];
}

// Sharing the screen (screen_share.js). The recording on the guest's computer is the
// camera's alone: the studio records the screen.
const SCREEN = {
  "share-button": "Share screen",
  "stop-button": "Stop sharing",
  "choosing": "Choose what to share…",
  "sharing": "Your screen goes to the studio, which records it on its own. " +
    "The recording on this computer is of your camera only.",
  "sharing-with-sound": "Your screen and its sound go to the studio, which records them on their own. " +
    "The recording on this computer is of your camera only.",
  "cancelled": "Nothing is shared: choosing what to share was cancelled or not allowed.",
  "unreadable": "Your screen could not be captured. Close other programs that capture it, then try again.",
  "cannot-share": "This browser could not share your screen",
  "refused": "The studio did not take your screen share.",
  "studio-problem": "The studio reports a problem with your screen share:",
  "stopped-button": "You stopped sharing your screen.",
  "stopped-browser": "You stopped sharing your screen.",
  "stopped-studio": "The studio ended your screen share.",
  "stopped-lost": "Your screen share lost its connection to the studio. Press Share screen to share again.",
  "stopped-left": "",
  "stopped-refused": "",
};

export function screenText(key) {
  if (!(key in SCREEN)) throw new Error("no screen share text for " + key);
  return SCREEN[key];
}

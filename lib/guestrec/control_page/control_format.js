// Figures in words and numbers an operator reads at a glance. No DOM here.

export function duration(seconds) {
  const s = Math.max(0, Math.floor(Number(seconds) || 0));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n) => String(n).padStart(2, "0");
  return h + ":" + pad(m) + ":" + pad(s % 60);
}

export function bytes(count) {
  const n = Number(count) || 0;
  if (n >= 1e9) return (n / 1e9).toFixed(2) + " GB";
  if (n >= 1e6) return (n / 1e6).toFixed(1) + " MB";
  if (n >= 1e3) return (n / 1e3).toFixed(0) + " kB";
  return n + " B";
}

const STATE_WORDS = {
  live: "live", recording: "recording", reconnecting: "reconnecting", uploading: "uploading",
  "finishing upload": "finishing upload", connecting: "connecting",
};

export function stateWord(state) {
  return STATE_WORDS[state] || String(state || "");
}

// The figures of a guest's card, [label, value] in the order shown; unknown ones left out.
export function guestFigures(g) {
  const rows = [];
  if (g.recording || g.recording_seconds) {
    rows.push(["Recorded", duration(g.recording_seconds) + ", " + bytes(g.file_bytes)]);
  }
  if (g.resolution) rows.push(["Picture", g.resolution + (g.fps != null ? " at " + Number(g.fps).toFixed(0) + " fps" : "")]);
  if (g.kbps != null) rows.push(["Bitrate", Number(g.kbps).toFixed(0) + " kbps"]);
  if (g.loss_percent != null) rows.push(["Loss", Number(g.loss_percent).toFixed(1) + "%"]);
  if (g.ice_pair) rows.push(["Path", g.ice_pair]);
  const upload = g.guest_recording;
  if (upload && upload.state) {
    const percent = upload.uploaded_percent != null ? upload.uploaded_percent + "%, " : "";
    rows.push(["Upload", percent + bytes(upload.bytes) + " (" + upload.state + ")"]);
  }
  if (g.error) rows.push(["Problem", g.error]);
  else if (g.warning) rows.push(["Note", g.warning]);
  return rows;
}

export function expiry(invite, nowSeconds) {
  if (invite.state === "revoked") return "revoked";
  if (invite.state === "expired") return "expired";
  if (invite.expires_at == null) return "until revoked";
  const left = invite.expires_at - nowSeconds;
  if (left < 3600) return "for " + Math.max(1, Math.round(left / 60)) + " min";
  if (left < 2 * 86400) return "for " + Math.round(left / 3600) + " h";
  return "for " + Math.round(left / 86400) + " days";
}

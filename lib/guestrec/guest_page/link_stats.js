// What a statistics report (RTCPeerConnection.getStats()) says about the link and the camera,
// read from whatever the browser reports. Browsers name things differently: Chromium's
// "transport" stats count the bytes received, Firefox's carry no byte counts but name the
// selected candidate pair, which does; and only Chromium gives a track its own frame counter
// (track.stats). Pure functions over a report (an iterable or a map-like with forEach), so
// Node's tests can hand in reports shaped as each browser's.

function statsOf(report) {
  const list = [];
  if (!report) return list;
  if (typeof report.forEach === "function") report.forEach((s) => list.push(s));
  else for (const s of report) list.push(s);
  return list.filter((s) => s && typeof s === "object");
}

const isCount = (v) => typeof v === "number" && Number.isFinite(v);

// The candidate pairs carrying the media: those the transports name, else those the browser
// marks as selected (Firefox) or as nominated and working.
export function selectedPairs(report) {
  const stats = statsOf(report);
  const byId = new Map(stats.filter((s) => s.type === "candidate-pair").map((s) => [s.id, s]));
  const named = stats.filter((s) => s.type === "transport" && s.selectedCandidatePairId)
    .map((s) => byId.get(s.selectedCandidatePairId)).filter(Boolean);
  if (named.length) return named;
  const pairs = [...byId.values()];
  const selected = pairs.filter((p) => p.selected === true);
  if (selected.length) return selected;
  return pairs.filter((p) => p.nominated === true && p.state === "succeeded");
}

// A counter that grows while anything arrives from the studio, and what it was read from:
// {source: "transport" | "candidate-pair" | "rtp" | null, value}. Tried in that order; the
// RTP fallback counts the media received and the studio's receiver reports. source null:
// the report has nothing to tell silence by, so a caller must not take it as silence.
export function receivedProgress(report) {
  const stats = statsOf(report);
  const transports = stats.filter((s) => s.type === "transport" && isCount(s.bytesReceived));
  if (transports.length) {
    return { source: "transport", value: transports.reduce((n, s) => n + s.bytesReceived, 0) };
  }
  const pairs = selectedPairs(report).filter((p) => isCount(p.bytesReceived));
  if (pairs.length) return { source: "candidate-pair", value: pairs.reduce((n, p) => n + p.bytesReceived, 0) };
  let value = 0;
  let seen = false;
  for (const s of stats) {
    if (s.type === "inbound-rtp" && isCount(s.bytesReceived)) {
      value += s.bytesReceived; seen = true;
    } else if (s.type === "remote-inbound-rtp") {
      // Each receiver report from the studio moves one of these (Firefox counts packets,
      // Chromium round-trip measurements).
      for (const key of ["packetsReceived", "roundTripTimeMeasurements", "packetsLost"]) {
        if (isCount(s[key])) { value += s[key]; seen = true; }
      }
    }
  }
  return seen ? { source: "rtp", value } : { source: null, value: 0 };
}

// Frames the camera has delivered, from the report, and its frame rate: {frames, fps}, from
// the video media source (its trackIdentifier is the track's id when known), else from the
// frames the encoder took (a lower bound: an encoder short of bandwidth skips some). null
// when the report has neither. fps is 0 when the report gives none.
export function cameraSource(report, trackId) {
  const stats = statsOf(report);
  const sources = stats.filter((s) => s.type === "media-source" && s.kind === "video" && isCount(s.frames));
  const own = sources.find((s) => trackId && s.trackIdentifier === trackId) || sources[0];
  if (own) return { frames: own.frames, fps: isCount(own.framesPerSecond) ? own.framesPerSecond : 0 };
  const sent = stats.filter((s) => s.type === "outbound-rtp" && s.kind === "video" && isCount(s.framesEncoded));
  if (!sent.length) return null;
  return { frames: sent.reduce((n, s) => n + s.framesEncoded, 0),
    fps: sent.reduce((n, s) => n + (isCount(s.framesPerSecond) ? s.framesPerSecond : 0), 0) };
}

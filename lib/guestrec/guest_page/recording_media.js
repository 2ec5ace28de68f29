// The live stream as the guest's own recording sees it: whether it is short of bandwidth
// (uploads then give way), keeping its resolution, and the camera's delivered frames.
// Used by guest_recorder.js. Nothing runs at import.

import { cameraSource } from "./link_stats.js";

// From one statistics report: {limited, live}. Short of bandwidth: the browser's encoder
// says so, or the studio's reports show real loss or a long round trip. (The studio's
// answer sets a minimum bitrate for the recording plan, so the encoder may keep its rate
// on a congested link and only the loss shows it.) `live` is what the video sends now,
// for the status and for tests (null without video).
export function readLive(report) {
  let limited = false;
  let live = null;
  report.forEach((s) => {
    if (s.type === "remote-inbound-rtp") {
      if ((s.fractionLost || 0) > 0.05 || (s.roundTripTime || 0) > 0.4) limited = true;
      return;
    }
    if (s.type !== "outbound-rtp") return;
    if (s.qualityLimitationReason === "bandwidth") limited = true;
    if (s.kind === "video") {
      live = { width: s.frameWidth || null, height: s.frameHeight || null,
        limitation: s.qualityLimitationReason || null, bytesSent: s.bytesSent || 0,
        fps: s.framesPerSecond || null };
    }
  });
  return { limited, live };
}

// Whether the live stream is short of bandwidth now; what it sends goes to state.live, the
// camera's frames by the report to state.sourceFrames (see noteSourceFrames).
export async function liveShortOfBandwidth(pc, state) {
  if (!pc) return false;
  try {
    const report = await pc.getStats();
    const { limited, live } = readLive(report);
    if (live) state.live = live;
    noteSourceFrames(report, state);
    return limited;
  } catch (e) { return false; }
}

export function keepResolution(peer) {
  // The studio records what it receives: under pressure, drop frames rather than pixels.
  for (const sender of peer.getSenders()) {
    if (!sender.track || sender.track.kind !== "video") continue;
    try {
      sender.track.contentHint = "detail";
      const params = sender.getParameters();
      params.degradationPreference = "maintain-resolution";
      sender.setParameters(params).catch(() => {});
    } catch (e) { /* an older browser: its own default */ }
  }
}

// The camera's frames by a statistics report, for browsers without track.stats:
// state.sourceFrames = {frames, fps, at} (at: performance.now() of the reading).
function noteSourceFrames(report, state) {
  const source = cameraSource(report);
  if (source) state.sourceFrames = Object.assign(source, { at: performance.now() });
}

// A fresh reading now (resolves when state.sourceFrames is up to date, or could not be).
export async function readSourceFrames(pc, state) {
  if (!pc) return;
  try { noteSourceFrames(await pc.getStats(), state); } catch (e) { /* closed */ }
}

export function cameraFrames(track, reading, now) {
  // Frames the camera delivered so far (by `now`, a performance.now() time), so the studio
  // can tell a complete file from one the guest's own computer could not keep up with. Only
  // Chromium counts them on the track; elsewhere a statistics reading ({frames, fps, at})
  // carried to `now` at its frame rate stands in, or null without one.
  if (!track) return null;
  if (track.stats && typeof track.stats.deliveredFrames === "number") return track.stats.deliveredFrames;
  if (!reading || typeof reading.frames !== "number") return null;
  const seconds = ((now === undefined ? performance.now() : now) - reading.at) / 1000;
  return Math.max(0, Math.round(reading.frames + (reading.fps || 0) * seconds));
}

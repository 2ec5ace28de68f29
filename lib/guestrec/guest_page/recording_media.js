// The live stream as the guest's own recording sees it: whether it is short of bandwidth
// (uploads then give way), keeping its resolution, and the camera's delivered frames.
// Used by guest_recorder.js. Nothing runs at import.

import { sourceFrames } from "./link_stats.js";

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
// camera's frames by the report to state.sourceFrames (for browsers without track.stats).
export async function liveShortOfBandwidth(pc, state) {
  if (!pc) return false;
  try {
    const report = await pc.getStats();
    const { limited, live } = readLive(report);
    if (live) state.live = live;
    const frames = sourceFrames(report);
    if (frames !== null) state.sourceFrames = frames;
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

export function cameraFrames(track, fromReport) {
  // Frames the camera delivered so far, so the studio can tell a complete file from one
  // the guest's own computer could not keep up with. Only Chromium counts them on the
  // track; elsewhere the latest statistics report's count (link_stats.sourceFrames, read
  // every few seconds, so start and stop lag alike) stands in, or null without one.
  const stats = track && track.stats;
  if (stats && typeof stats.deliveredFrames === "number") return stats.deliveredFrames;
  return typeof fromReport === "number" ? fromReport : null;
}

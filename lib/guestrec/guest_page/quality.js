// Connection quality for the guest page, from the sender's own WebRTC statistics: packet
// loss and round-trip time as the studio reports them back. Also the video bitrate the
// studio asks for. The arithmetic is pure (tested in Node); watch() polls a peer.

const TEXTS = { good: "Connection: good", fair: "Connection: fair", poor: "Connection: poor" };

// Packets sent, packets the studio lost and the longest round trip (ms, or null) in one
// statistics report (any iterable of stats, or a map-like with forEach).
export function sentAndLost(report) {
  let lost = 0, sent = 0, rtt = null;
  report.forEach((s) => {
    if (s.type === "outbound-rtp") sent += s.packetsSent || 0;
    if (s.type === "remote-inbound-rtp") {
      lost += Math.max(0, s.packetsLost || 0);
      if (typeof s.roundTripTime === "number") rtt = Math.max(rtt || 0, s.roundTripTime * 1000);
    }
  });
  return { sent, lost, rttMs: rtt };
}

// The quality between two readings of sentAndLost (previous may be null: no loss known yet):
// {level: "good"|"fair"|"poor", text, lossPercent, rttMs}.
export function rateQuality(previous, now) {
  const dLost = previous ? now.lost - previous.lost : 0;
  const dSent = previous ? now.sent - previous.sent : 0;
  const loss = dSent + dLost > 0 ? (100 * dLost) / (dSent + dLost) : 0;
  const rtt = now.rttMs;
  let level = "good";
  if (loss > 5 || (rtt !== null && rtt > 400)) level = "poor";
  else if (loss > 1 || (rtt !== null && rtt > 200)) level = "fair";
  return { level, text: TEXTS[level], lossPercent: Math.round(loss * 10) / 10, rttMs: rtt };
}

// Calls onQuality(rateQuality(...)) every 2 s while the peer is connected; returns stop().
export function watch(pc, onQuality, everyMs) {
  let last = null;
  const timer = setInterval(async () => {
    if (pc.connectionState !== "connected") return;
    let now;
    try { now = sentAndLost(await pc.getStats()); } catch (e) { return; }
    const quality = rateQuality(last, now);
    last = now;
    onQuality(quality);
  }, everyMs || 2000);
  return () => clearInterval(timer);
}

// A sender's parameters, changed in place (the browser wants back the object it gave), with
// the first encoding capped at `kbps` (kbps means 1000 bit/s).
export function withMaxBitrate(params, kbps) {
  if (!params.encodings || !params.encodings.length) params.encodings = [{}];
  params.encodings[0].maxBitrate = kbps * 1000;
  return params;
}

// The studio asks for another video bitrate.
export async function setVideoBitrate(pc, kbps) {
  for (const sender of pc.getSenders()) {
    if (!sender.track || sender.track.kind !== "video") continue;
    try { await sender.setParameters(withMaxBitrate(sender.getParameters(), kbps)); } catch (e) { /* keep the current rate */ }
  }
}

// Connection quality for the guest page, from the sender's own WebRTC statistics:
// packet loss and round-trip time as the studio reports them back. window.GuestQuality.
"use strict";

window.GuestQuality = (function () {
  // Calls onQuality({level: "good"|"fair"|"poor", text, lossPercent, rttMs}) every 2 s.
  function watch(pc, onQuality) {
    let last = null;
    const timer = setInterval(async () => {
      if (pc.connectionState !== "connected") return;
      let lost = 0, sent = 0, rtt = null;
      try {
        const report = await pc.getStats();
        report.forEach((s) => {
          if (s.type === "outbound-rtp") sent += s.packetsSent || 0;
          if (s.type === "remote-inbound-rtp") {
            lost += Math.max(0, s.packetsLost || 0);
            if (typeof s.roundTripTime === "number") rtt = Math.max(rtt || 0, s.roundTripTime * 1000);
          }
        });
      } catch (e) { return; }
      const now = { lost: lost, sent: sent };
      const dLost = last ? now.lost - last.lost : 0;
      const dSent = last ? now.sent - last.sent : 0;
      last = now;
      const loss = dSent + dLost > 0 ? (100 * dLost) / (dSent + dLost) : 0;
      let level = "good";
      if (loss > 5 || (rtt !== null && rtt > 400)) level = "poor";
      else if (loss > 1 || (rtt !== null && rtt > 200)) level = "fair";
      const text = { good: "Connection: good", fair: "Connection: fair", poor: "Connection: poor" }[level];
      onQuality({ level: level, text: text, lossPercent: Math.round(loss * 10) / 10, rttMs: rtt });
    }, 2000);
    return () => clearInterval(timer);
  }

  return { watch: watch };
})();

// The export of the last session for editing: its button, and its progress and result
// as the studio's event stream tells them (an export started in OBS shows here too).

import { make } from "./elements.js";

const SHOWN_LINES = 8;

// What the export's status line says; no DOM here.
export function exportSummary(status) {
  const s = status || { state: "idle" };
  if (s.state === "running") return { text: "Exporting " + s.session + "… " + stripPrefix(s.current), busy: true };
  if (s.state === "done") return { text: "Exported " + s.session + ": " + s.files + " files in " + s.export_folder + " (README.txt there says which editor opens which file)." };
  if (s.state === "failed") return { text: "Export of " + s.session + " failed: " + s.error, bad: true };
  if (s.state === "stopped") return { text: "Export of " + s.session + " stopped: " + s.error, bad: true };
  return { text: "" };
}

function stripPrefix(line) {
  return String(line || "").replace(/^export: /, "");
}

export class ExportPanel {
  constructor(doc, api, els) {
    this.doc = doc;
    this.api = api;
    this.els = els; // {button, proxies, note, lines}
    this.status = { state: "idle" };
    els.button.addEventListener("click", () => this.start());
  }

  async start() {
    this.say("Starting the export…");
    try {
      const job = await this.api.call("POST", "api/export", { proxies: this.els.proxies.checked });
      // The event stream may have told this job's later state (even its end) already.
      if (this.status.started !== job.started) this.update(job);
    } catch (err) {
      this.say(err.message, true);
    }
  }

  say(text, problem) {
    this.els.note.textContent = text;
    this.els.note.classList.toggle("bad", Boolean(problem));
  }

  update(status) {
    this.status = status;
    const summary = exportSummary(status);
    this.els.button.disabled = Boolean(summary.busy);
    this.els.button.textContent = summary.busy ? "Exporting…" : "Export last session";
    this.els.note.dataset.state = status.state;
    this.say(summary.text, summary.bad);
    const lines = (status.lines || []).slice(-SHOWN_LINES);
    this.els.lines.replaceChildren(...lines.map((line) => make(this.doc, "li", "", stripPrefix(line))));
  }
}

// The control room: live cards of every guest, the whole show's controls, invites and
// the session's files, kept up to date by the studio's event stream (no reloads).
// window.controlRoom says what the page has seen, for people and tests to read.

import { KeyRefused, StudioApi, readKey } from "./control_api.js";
import { GuestCards } from "./control_cards.js";
import { ExportPanel } from "./control_export.js";
import { InviteList, showFiles } from "./control_lists.js";

const PICTURE_EVERY_MS = 1000;
const RETRY_MS = 1000;

const $ = (id) => document.getElementById(id);
const state = { key: false, link: "connecting", events: 0, guests: [], show: null, exportJob: null, lastEventAt: 0 };
window.controlRoom = state;

function setLink(word) {
  state.link = word;
  const badge = $("link-state");
  badge.textContent = word;
  badge.className = "badge " + word;
}

function problem(text) {
  $("problem").textContent = text || "";
  $("problem").hidden = !text;
}

function summary(show) {
  if (!show.guests) return "No guests yet." + (show.invite_only ? " Guests join through their invites only." : "");
  const words = [show.guests + (show.guests === 1 ? " guest" : " guests"), show.recording + " recording"];
  if (show.invite_only) words.push("invites only");
  return words.join(", ") + ".";
}

function start() {
  const key = readKey(window.location, window.sessionStorage, window.history);
  state.key = Boolean(key);
  if (!key) {
    setLink("no key");
    problem("This page needs the operator key. Open the Control room link the studio shows (it ends in #key=...).");
    return;
  }
  const api = new StudioApi(key);
  const cards = new GuestCards($("cards"), api, document);
  const invites = new InviteList(document, api, $("invite-list"), $("invite-form"), $("invite-note"));
  const exporter = new ExportPanel(document, api, {
    button: $("export-last"), proxies: $("export-proxies"), note: $("export-note"), lines: $("export-lines"),
  });
  const handlers = {
    guests: (guests) => { state.guests = guests; cards.update(guests); },
    show: (show) => { state.show = show; $("show-summary").textContent = summary(show); },
    invites: (rows) => invites.update(rows),
    files: (files) => showFiles(document, $("files-folder"), $("file-list"), files),
    export: (job) => { state.exportJob = job; exporter.update(job); },
  };
  const onEvent = (name, value) => {
    state.events += 1;
    state.lastEventAt = Date.now();
    if (handlers[name]) handlers[name](value);
  };

  for (const [id, on] of [["start-all", true], ["stop-all", false]]) {
    $(id).addEventListener("click", async () => {
      try {
        const answer = await api.call("POST", "api/recording", { on });
        const names = answer.changed || [];
        $("show-note").textContent = (on ? "Started: " : "Stopped: ") + (names.length ? names.join(", ") : "none");
      } catch (err) {
        $("show-note").textContent = err.message;
      }
    });
  }

  setInterval(() => { if (!document.hidden) cards.refreshPictures(); }, PICTURE_EVERY_MS);

  (async function follow() {
    for (;;) {
      try {
        await api.events(onEvent, () => { setLink("live"); problem(""); });
      } catch (err) {
        if (err instanceof KeyRefused) {
          setLink("no key");
          problem(err.message);
          return;
        }
      }
      setLink("reconnecting");
      await new Promise((done) => setTimeout(done, RETRY_MS));
    }
  })();
}

start();

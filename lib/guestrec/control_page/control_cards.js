// One card per guest: picture, name, state, figures and the operator's controls. Cards
// are kept by name and updated in place (an input being typed in is never rebuilt).

import { guestFigures, stateWord } from "./control_format.js";
import { HoldToTalk } from "./control_talkback.js";
import { button, make } from "./elements.js";

const CONFIRM_MS = 3000;

// The clipboard where the page may use it (a secure context), else a selected text area.
export async function copyText(doc, text) {
  const nav = doc.defaultView && doc.defaultView.navigator;
  if (nav && nav.clipboard && doc.defaultView.isSecureContext) {
    try { await nav.clipboard.writeText(text); return true; } catch (err) { /* below */ }
  }
  const area = doc.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.className = "offscreen";
  doc.body.appendChild(area);
  area.select();
  let done = false;
  try { done = doc.execCommand("copy"); } catch (err) { done = false; }
  area.remove();
  return done;
}

class GuestCard {
  constructor(doc, api, name) {
    this.doc = doc;
    this.api = api;
    this.name = name;
    this.guest = { name };
    this.pictureUrl = null;
    this.pictureBusy = false;
    this.pictures = 0;
    this.el = make(doc, "article", "card");
    this.el.dataset.name = name;
    this.picture = make(doc, "img", "picture");
    this.picture.alt = "";
    this.picture.hidden = true;
    const head = make(doc, "div", "head");
    this.title = make(doc, "h2", "name", name);
    this.state = make(doc, "span", "badge state");
    // The return feed: on hold (hears nobody, heard by nobody), or hearing the talkback.
    this.returnState = make(doc, "span", "badge return");
    this.returnState.hidden = true;
    head.append(this.title, this.returnState, this.state);
    this.figures = make(doc, "dl", "figures");
    const actions = make(doc, "div", "buttons");
    this.record = button(doc, "record", "Record");
    this.hangup = button(doc, "hangup danger", "Hang up");
    this.mute = button(doc, "mute", "Ask to mute");
    this.unmute = button(doc, "unmute", "Ask to unmute");
    this.copy = button(doc, "copy-invite", "Copy invite link");
    this.hold = button(doc, "hold", "Hold");
    this.hold.title = "On hold the guest hears nobody and nobody hears the guest; the recording goes on.";
    this.talk = button(doc, "talkback", "Talkback");
    this.talk.title = "Hold down: the studio's sound goes to this guest alone.";
    actions.append(this.record, this.hangup, this.mute, this.unmute, this.hold, this.talk, this.copy);
    this.messageForm = this.form("message", "Message to " + name, "text", "Send");
    this.bitrateForm = this.form("bitrate", "Video bitrate (kbps)", "number", "Set");
    this.note = make(doc, "p", "note");
    this.note.setAttribute("aria-live", "polite");
    this.el.append(this.picture, head, this.figures, actions, this.messageForm, this.bitrateForm, this.note);
    this.wire();
  }

  form(className, label, type, action) {
    const doc = this.doc;
    const form = make(doc, "form", "inline " + className);
    const input = make(doc, "input");
    input.type = type;
    input.setAttribute("aria-label", label);
    input.placeholder = label;
    if (type === "number") { input.min = "100"; input.step = "100"; }
    else input.maxLength = 500;
    const send = make(doc, "button", "", action);
    send.type = "submit";
    form.append(input, send);
    return form;
  }

  wire() {
    const path = (what) => this.api.guestPath(this.name, what);
    this.record.addEventListener("click", () => this.act(
      this.api.call("POST", path("record"), { on: !this.guest.recording }),
      this.guest.recording ? "Recording stopped." : "Recording started."));
    this.hangup.addEventListener("click", () => this.hangUp(path("hangup")));
    this.mute.addEventListener("click", () => this.act(
      this.api.call("POST", path("mute"), { mute: true }), "Asked to mute."));
    this.unmute.addEventListener("click", () => this.act(
      this.api.call("POST", path("mute"), { mute: false }), "Asked to unmute."));
    this.hold.addEventListener("click", () => this.act(
      this.api.call("POST", path("hold"), { on: !this.guest.held }),
      this.guest.held ? "Off hold." : "On hold: hears nobody, heard by nobody."));
    this.talkback = new HoldToTalk(this.talk,
      (on) => this.api.call("POST", path("talkback"), { on }).then((answer) => {
        if (on && answer && answer.studio_sound === false) this.say("No studio sound is set: talkback has nothing to send.", true);
        return answer;
      }),
      (active) => {
        this.talk.classList.toggle("on", active);
        this.talk.textContent = active ? "Talking…" : "Talkback";
      });
    this.copy.addEventListener("click", async () => {
      const link = this.guest.invite && this.guest.invite.link;
      if (link) this.say(await copyText(this.doc, link) ? "Invite link copied." : link);
    });
    this.messageForm.addEventListener("submit", (event) => {
      event.preventDefault();
      const input = this.messageForm.querySelector("input");
      this.act(this.api.call("POST", path("message"), { text: input.value }), "Message sent.")
        .then((ok) => { if (ok) input.value = ""; });
    });
    this.bitrateForm.addEventListener("submit", (event) => {
      event.preventDefault();
      const kbps = parseInt(this.bitrateForm.querySelector("input").value, 10);
      this.act(this.api.call("POST", path("bitrate"), { kbps }), null)
        .then((answer) => { if (answer) this.say("Video bitrate set to " + answer.kbps + " kbps."); });
    });
  }

  // A destructive action asks once more, on the button itself.
  hangUp(route) {
    if (this.hangup.dataset.confirm !== "1") {
      this.hangup.dataset.confirm = "1";
      this.hangup.textContent = "Sure? Hang up";
      this.confirmTimer = setTimeout(() => this.resetHangUp(), CONFIRM_MS);
      return;
    }
    this.resetHangUp();
    this.act(this.api.call("POST", route), "Hung up.");
  }

  resetHangUp() {
    clearTimeout(this.confirmTimer);
    delete this.hangup.dataset.confirm;
    this.hangup.textContent = "Hang up";
  }

  async act(request, done) {
    this.say("…");
    try {
      const answer = await request;
      if (done) this.say(done);
      return answer || true;
    } catch (err) {
      this.say(err.message, true);
      return null;
    }
  }

  say(text, problem) {
    this.note.textContent = text;
    this.note.classList.toggle("bad", Boolean(problem));
  }

  update(guest) {
    this.guest = guest;
    this.el.dataset.state = guest.state || "";
    this.state.textContent = stateWord(guest.state);
    this.state.className = "badge state " + String(guest.state || "").replace(/\s+/g, "-");
    const connected = Boolean(guest.connected);
    this.record.textContent = guest.recording ? "Stop recording" : "Record";
    this.record.classList.toggle("on", Boolean(guest.recording));
    for (const el of [this.record, this.mute, this.unmute]) el.disabled = !connected;
    this.copy.hidden = !guest.invite;
    // Hold and talkback exist only where guests get a return feed.
    const hasReturn = guest.held !== undefined;
    this.hold.hidden = this.talk.hidden = !hasReturn;
    this.hold.textContent = guest.held ? "Release hold" : "Hold";
    this.hold.classList.toggle("on", Boolean(guest.held));
    this.talk.disabled = !connected || Boolean(guest.held);
    if (this.talk.disabled) this.talkback.release(); // a disabled button hears no pointerup
    this.el.dataset.held = guest.held ? "1" : "";
    this.el.dataset.talkback = guest.talkback ? "1" : "";
    const word = guest.held ? "On hold" : guest.talkback ? "Talkback" : "";
    this.returnState.textContent = word;
    this.returnState.hidden = !word;
    this.returnState.className = "badge return" + (guest.held ? " held" : guest.talkback ? " talkback" : "");
    const rows = guestFigures(guest);
    const doc = this.doc;
    this.figures.replaceChildren(...rows.flatMap(([label, value]) => {
      const dt = make(doc, "dt", "", label);
      const dd = make(doc, "dd", "", value);
      dd.dataset.figure = label.toLowerCase();
      return [dt, dd];
    }));
    const bitrate = this.bitrateForm.querySelector("input");
    if (!bitrate.value && guest.video_kbps) bitrate.placeholder = "Video bitrate: " + guest.video_kbps + " kbps";
  }

  async refreshPicture() {
    if (this.pictureBusy || !this.guest.picture) return;
    this.pictureBusy = true;
    try {
      const blob = await this.api.picture(this.name);
      if (!blob) return;
      const url = URL.createObjectURL(blob);
      this.picture.src = url;
      this.picture.hidden = false;
      this.pictures += 1;
      this.el.dataset.pictures = String(this.pictures);
      if (this.pictureUrl) URL.revokeObjectURL(this.pictureUrl);
      this.pictureUrl = url;
    } catch (err) {
      /* the next refresh tries again */
    } finally {
      this.pictureBusy = false;
    }
  }

  remove() {
    clearTimeout(this.confirmTimer);
    this.talkback.release();
    if (this.pictureUrl) URL.revokeObjectURL(this.pictureUrl);
    this.el.remove();
  }
}

export class GuestCards {
  constructor(container, api, doc) {
    this.container = container;
    this.api = api;
    this.doc = doc;
    this.cards = new Map();
  }

  update(guests) {
    const seen = new Set();
    guests.forEach((guest, index) => {
      seen.add(guest.name);
      let card = this.cards.get(guest.name);
      if (!card) {
        card = new GuestCard(this.doc, this.api, guest.name);
        this.cards.set(guest.name, card);
      }
      // In the studio's order; moved only when out of place (moving loses typing focus).
      const there = this.container.children[index];
      if (there !== card.el) this.container.insertBefore(card.el, there || null);
      card.update(guest);
    });
    for (const [name, card] of this.cards) {
      if (!seen.has(name)) {
        card.remove();
        this.cards.delete(name);
      }
    }
  }

  refreshPictures() {
    for (const card of this.cards.values()) card.refreshPicture();
  }
}

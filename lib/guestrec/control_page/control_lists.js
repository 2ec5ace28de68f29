// The invites (make, copy, revoke) and the session folder's files.

import { copyText } from "./control_cards.js";
import { bytes, expiry } from "./control_format.js";
import { button, make } from "./elements.js";

export class InviteList {
  constructor(doc, api, list, form, note) {
    this.doc = doc;
    this.api = api;
    this.list = list;
    this.note = note;
    this.invites = [];
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.make(form);
    });
  }

  say(text, problem) {
    this.note.textContent = text;
    this.note.classList.toggle("bad", Boolean(problem));
  }

  async make(form) {
    const name = form.elements.name.value.trim();
    const seconds = parseInt(form.elements.expires.value, 10);
    const body = { name };
    if (seconds > 0) body.expires_s = seconds;
    try {
      const invite = await this.api.call("POST", "api/invites", body);
      form.elements.name.value = "";
      const copied = await copyText(this.doc, invite.link);
      this.say(copied ? "Invite for " + invite.name + " made; its link is copied." : "Invite for " + invite.name + " made.");
    } catch (err) {
      this.say(err.message, true);
    }
  }

  // Newest first; revoked and expired ones after the others.
  update(invites) {
    this.invites = invites;
    const now = Date.now() / 1000;
    const live = (i) => (i.state === "revoked" || i.state === "expired" ? 1 : 0);
    const rows = [...invites].sort((a, b) => live(a) - live(b) || b.created - a.created);
    this.list.replaceChildren(...rows.map((invite) => this.row(invite, now)));
  }

  row(invite, now) {
    const doc = this.doc;
    const li = make(doc, "li", "row invite " + invite.state);
    li.dataset.id = invite.id;
    const what = make(doc, "span", "what");
    what.append(make(doc, "strong", "", invite.name), " ",
      make(doc, "span", "muted", (invite.in_use ? "connected, " : "") + expiry(invite, now)));
    li.append(what);
    if (invite.state !== "revoked") {
      const copy = button(doc, "copy", "Copy link");
      copy.addEventListener("click", async () => {
        this.say(await copyText(doc, invite.link) ? "Link for " + invite.name + " copied." : invite.link);
      });
      const revoke = button(doc, "revoke danger", "Revoke");
      revoke.addEventListener("click", () => this.revoke(invite, false));
      li.append(copy, revoke);
      if (invite.in_use) {
        const both = button(doc, "revoke-hangup danger", "Revoke and hang up");
        both.addEventListener("click", () => this.revoke(invite, true));
        li.append(both);
      }
    }
    return li;
  }

  async revoke(invite, hangUp) {
    const path = "api/invites/" + encodeURIComponent(invite.id) + (hangUp ? "?hang_up=1" : "");
    try {
      await this.api.call("DELETE", path);
      this.say("Invite for " + invite.name + " revoked" + (hangUp ? " and its guest hung up." :
        invite.in_use ? "; its guest stays connected until hung up." : "."));
    } catch (err) {
      this.say(err.message, true);
    }
  }
}

export function showFiles(doc, folderLine, list, files) {
  folderLine.textContent = files.folder ? files.folder : "No session yet.";
  list.replaceChildren(...files.files.map((file) => {
    const li = make(doc, "li", "row file " + file.state);
    li.append(make(doc, "span", "what", file.name),
      make(doc, "span", "muted", bytes(file.bytes)),
      make(doc, "span", "badge " + file.state, file.state));
    return li;
  }));
}

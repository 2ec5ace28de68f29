// Talkback while a button is held: pressed (pointer, or Space/Enter on the keyboard), the
// studio's sound goes to one guest alone; the studio is told again every RENEW_MS, and
// lets go by itself a few seconds after the last word (a page closed mid-press).
// No DOM beyond addEventListener, so it runs under Node's tests with an EventTarget.

export const RENEW_MS = 1500;

export class HoldToTalk {
  // send(on) -> Promise; onChange(active) when pressed or let go.
  constructor(target, send, onChange, timers) {
    this.target = target;
    this.send = send;
    this.onChange = onChange || (() => {});
    this.timers = timers || globalThis;
    this.active = false;
    this.timer = null;
    const press = (event) => { if (event.preventDefault) event.preventDefault(); this.press(); };
    const release = () => this.release();
    target.addEventListener("pointerdown", press);
    for (const name of ["pointerup", "pointerleave", "pointercancel", "blur"]) {
      target.addEventListener(name, release);
    }
    target.addEventListener("keydown", (event) => {
      if ((event.key === " " || event.key === "Enter") && !event.repeat) press(event);
    });
    target.addEventListener("keyup", (event) => {
      if (event.key === " " || event.key === "Enter") release();
    });
  }

  press() {
    if (this.active) return;
    this.active = true;
    this.onChange(true);
    this.renew();
  }

  renew() {
    if (!this.active) return;
    this.send(true).catch(() => {});
    this.timer = this.timers.setTimeout(() => this.renew(), RENEW_MS);
  }

  release() {
    if (!this.active) return;
    this.active = false;
    this.timers.clearTimeout(this.timer);
    this.timer = null;
    this.onChange(false);
    this.send(false).catch(() => {});
  }
}

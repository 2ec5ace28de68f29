// The guest's own camera and microphone on the page: the stream, the preview, the level
// meter, the device pickers, self-mute and camera-off. Nothing runs at import.

import * as devices from "./devices.js";

export class LocalMedia {
  // view: guest_view.js; state: window.guestState; hooks.onNewStream(stream) (awaited)
  // hands a new stream to the connection and the recorder; hooks.onToggle() after mute or
  // camera-off changed (the studio is told).
  constructor(view, state, hooks) {
    this.view = view;
    this.state = state;
    this.hooks = hooks;
    this.stream = null;
    this.stopMeter = () => {};
  }

  // Opens the chosen (or default) devices in place of the current ones, the microphone
  // with echo cancellation unless the guest uses headphones (state.headphones); throws an
  // Error with a text for the guest.
  async start(cameraId, micId) {
    const { ui } = this.view;
    const fresh = await devices.open(cameraId, micId, { headphones: !!this.state.headphones });
    const old = this.stream;
    this.stream = fresh;
    fresh.getAudioTracks().forEach((t) => { t.enabled = !this.state.muted; });
    fresh.getVideoTracks().forEach((t) => { t.enabled = !this.state.cameraOff; });
    await this.hooks.onNewStream(fresh);
    devices.stop(old);
    ui.preview.srcObject = fresh;
    this.stopMeter();
    this.stopMeter = devices.meter(fresh, (level) => {
      this.state.level = this.state.muted ? 0 : level;
      ui.level.value = this.state.level;
    });
    this.state.devices = await devices.listInto(ui.camera, ui.microphone, fresh);
    this.state.media = true;
    ui.mute.disabled = ui.cameraOff.disabled = false;
  }

  // The camera light goes off.
  release() {
    const { ui } = this.view;
    this.stopMeter();
    this.stopMeter = () => {};
    devices.stop(this.stream);
    this.stream = null;
    this.state.media = false;
    ui.preview.srcObject = null;
    ui.level.value = 0;
    ui.camera.disabled = ui.microphone.disabled = true;
    ui.mute.disabled = ui.cameraOff.disabled = true;
    ui.note.textContent = "Camera off";
  }

  setMuted(on) {
    const { ui } = this.view;
    this.state.muted = !!on;
    if (this.stream) this.stream.getAudioTracks().forEach((t) => { t.enabled = !on; });
    ui.mute.setAttribute("aria-pressed", String(!!on));
    ui.mute.textContent = on ? "Unmute microphone" : "Mute microphone";
    this.hooks.onToggle();
  }

  setCameraOff(on) {
    const { ui } = this.view;
    this.state.cameraOff = !!on;
    if (this.stream) this.stream.getVideoTracks().forEach((t) => { t.enabled = !on; });
    ui.cameraOff.setAttribute("aria-pressed", String(!!on));
    ui.cameraOff.textContent = on ? "Turn camera on" : "Turn camera off";
    this.hooks.onToggle();
  }
}

// What the guest page shows: its elements, the error and status lines, the recording
// light, the studio's messages, which controls can be used and the connection quality.
// guest.js makes it with createGuestView(document, state), `state` being what tests read
// (window.guestState).

export function createGuestView(doc, state) {
  const $ = (id) => doc.getElementById(id);
  const ui = {
    name: $("name"), join: $("join"), hangup: $("hangup"), form: $("join-form"),
    preview: $("preview"), note: $("preview-note"), status: $("status"),
    error: $("error"), rec: $("rec-state"), recText: $("rec-text"),
    camera: $("camera"), microphone: $("microphone"), level: $("level"), mute: $("mute"),
    cameraOff: $("camera-off"), quality: $("quality"), message: $("studio-message"),
    returnAudio: $("return-audio"), returnVideo: $("return-video"), returnNote: $("return-note"),
    returnVolume: $("return-volume"), returnPlay: $("return-play"), headphones: $("headphones"),
    echoNote: $("echo-note"), shareScreen: $("share-screen"), screenNote: $("screen-note"),
  };

  function showError(text) {
    state.error = text || null;
    ui.error.textContent = text;
    ui.error.hidden = !text;
  }

  function setStatus(text) { ui.status.textContent = text; }

  // The studio's file name stays out of sight: it says nothing to a guest.
  function setRecording(on, file) {
    state.recording = !!on;
    state.file = on ? (file || null) : null;
    ui.rec.classList.toggle("on", !!on);
    ui.rec.classList.toggle("off", !on);
    ui.recText.textContent = on ? "You are being recorded" : "Not recorded";
  }

  function showStudioMessage(text) {
    state.studioMessage = text || null;
    ui.message.textContent = text || "";
    ui.message.hidden = !text;
  }

  // controls: {join, name, hangup} true when usable.
  function showControls(controls) {
    ui.join.disabled = !controls.join;
    ui.name.disabled = !controls.name;
    ui.hangup.disabled = !controls.hangup;
  }

  function showQuality(q) {
    state.quality = q;
    ui.quality.hidden = false;
    ui.quality.className = "quality " + q.level;
    ui.quality.textContent = q.text;
  }

  function hideQuality() { ui.quality.hidden = true; }

  return { ui, showError, setStatus, setRecording, showStudioMessage, showControls, showQuality, hideQuality };
}

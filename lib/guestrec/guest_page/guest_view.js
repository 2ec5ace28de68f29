// What the guest page shows: its elements, the error and status lines, the recording
// light and the studio's messages. guest.js makes it with window.GuestView(state), the
// state tests read (window.guestState). Plain script, no build step.
"use strict";

(function () {
  window.GuestView = function (state) {
    const $ = (id) => document.getElementById(id);
    const ui = {
      name: $("name"), join: $("join"), hangup: $("hangup"), form: $("join-form"),
      preview: $("preview"), note: $("preview-note"), status: $("status"),
      error: $("error"), rec: $("rec-state"), recText: $("rec-text"),
      camera: $("camera"), microphone: $("microphone"), level: $("level"), mute: $("mute"),
      cameraOff: $("camera-off"), quality: $("quality"), message: $("studio-message"),
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

    return { ui, showError, setStatus, setRecording, showStudioMessage };
  };
})();

// Camera and microphone for the guest page: what is asked of the browser, the pickers and
// the level meter. Nothing runs at import (Node's tests import the pure parts).

// Raw sound for recording: the browser's voice processing would colour it. Echo
// cancellation only when the guest hears the studio on speakers (see return_feed.js).
const AUDIO = {
  echoCancellation: false, noiseSuppression: false, autoGainControl: false,
  channelCount: { ideal: 2 }, sampleRate: { ideal: 48000 },
};
const VIDEO = { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 } };

// What the page asks for: raw sound (echo cancellation on unless options.headphones),
// 720p30 video; the chosen devices when there are.
export function constraints(cameraId, micId, options) {
  const headphones = !!(options && options.headphones);
  return {
    audio: Object.assign({}, AUDIO, { echoCancellation: !headphones }, micId ? { deviceId: { exact: micId } } : {}),
    video: Object.assign({}, VIDEO, cameraId ? { deviceId: { exact: cameraId } } : {}),
  };
}

// Why the browser gave no camera or microphone, for the guest.
export function friendly(err) {
  const name = err && err.name;
  if (name === "NotAllowedError" || name === "SecurityError") {
    return "Camera and microphone were refused. Allow them for this page (the icon in the address bar) and reload.";
  }
  if (name === "NotFoundError" || name === "OverconstrainedError") return "No camera or microphone was found.";
  if (name === "NotReadableError") return "The camera or microphone is busy in another program. Close it and try again.";
  return "Could not start camera and microphone: " + ((err && err.message) || err);
}

// Opens the chosen (or default) devices; throws an Error with a text for the guest.
export async function open(cameraId, micId, options) {
  const media = globalThis.navigator && globalThis.navigator.mediaDevices;
  if (!media || !media.getUserMedia) {
    throw new Error("This browser cannot use a camera here. Open the link over https:// (or ask the studio for a working link).");
  }
  try {
    return await media.getUserMedia(constraints(cameraId, micId, options));
  } catch (err) {
    throw new Error(friendly(err));
  }
}

// Fills a <select> with the devices of one kind; keeps the current choice.
function fill(select, devices, kind, currentId) {
  const list = devices.filter((d) => d.kind === kind);
  select.textContent = "";
  list.forEach((d, i) => {
    const option = select.ownerDocument.createElement("option");
    option.value = d.deviceId;
    option.textContent = d.label || (kind === "videoinput" ? "Camera " : "Microphone ") + (i + 1);
    select.appendChild(option);
  });
  if (currentId) select.value = currentId;
  select.disabled = list.length < 2;
  return list.length;
}

export async function listInto(cameraSelect, micSelect, stream) {
  const devices = await navigator.mediaDevices.enumerateDevices();
  const cam = stream && stream.getVideoTracks()[0];
  const mic = stream && stream.getAudioTracks()[0];
  return {
    cameras: fill(cameraSelect, devices, "videoinput", cam && cam.getSettings().deviceId),
    microphones: fill(micSelect, devices, "audioinput", mic && mic.getSettings().deviceId),
  };
}

// The level to show: the loudest sample now, or the last level falling back slowly (peak
// hold, so the eye can catch a short sound); 0 below the noise of silence.
export function heldLevel(samples, shown) {
  let peak = 0;
  for (let i = 0; i < samples.length; i++) peak = Math.max(peak, Math.abs(samples[i]));
  const level = Math.max(Math.min(1, peak), shown * 0.8);
  return level < 0.001 ? 0 : level;
}

// A level meter on the microphone: calls onLevel(0..1) about 20 times a second. The
// analyser's window (8192 samples, about 170 ms) is longer than the timer's period even
// when a busy machine delays the timer, so a short sound is never missed between two reads.
export function meter(stream, onLevel) {
  const Context = globalThis.AudioContext || globalThis.webkitAudioContext;
  if (!Context || !stream.getAudioTracks().length) return () => {};
  const context = new Context();
  const source = context.createMediaStreamSource(stream);
  const analyser = context.createAnalyser();
  analyser.fftSize = 8192;
  source.connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  let shown = 0;
  const timer = setInterval(() => {
    if (context.state === "suspended") context.resume();
    analyser.getFloatTimeDomainData(samples);
    shown = heldLevel(samples, shown);
    onLevel(shown);
  }, 50);
  return () => { clearInterval(timer); source.disconnect(); context.close(); };
}

export function stop(stream) {
  if (stream) stream.getTracks().forEach((t) => t.stop());
}

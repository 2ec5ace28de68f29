"""Guest Recorder for OBS: WebRTC guests in, one ISO recording per guest out."""

__version__ = "0.1.0"

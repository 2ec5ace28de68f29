"""Why a guest's connection ended, and what follows from it: after a lost connection the
guest may come back into its name, sink and take (see continuity.py); the studio's own
ends are told to the guest first, so that its page does not try to come back."""

from __future__ import annotations

SERVER_STOPPED = "server stopped"
STUDIO_HUNG_UP = "hung up by the studio"
RECONNECTED = "replaced by its reconnection"
NEVER_CONNECTED = "never connected"
SCREEN_STOPPED = "screen share stopped"  # its page stopped sharing
OWNER_LEFT = "its guest left"  # a screen share ends with the guest who shared it

STUDIO_ENDED_TEXT = "The studio ended the session."
# The studio's ends and what the guest is told of them.
STUDIO_ENDS = {SERVER_STOPPED: STUDIO_ENDED_TEXT, STUDIO_HUNG_UP: STUDIO_ENDED_TEXT}
# Ends after which the guest may come back into its name, sink and take.
LOST = {"connection failed", "connection closed", NEVER_CONNECTED, RECONNECTED}

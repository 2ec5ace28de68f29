"""Recorders beside the studio's own: the recording made in the guest's browser."""

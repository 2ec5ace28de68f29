"""Telling the guest: a recording failure is told once, and again after its channel
reopens; a guest's first failure stays when a later one follows from it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from aiortc import RTCPeerConnection

from guestrec.common.plan import make_plan
from guestrec.core.guest import Guest, GuestConfig
from guestrec.core.guest_messenger import GuestMessenger


class RecordingChannel:
    """Stands in for the guest's software: keeps what it was told."""

    def __init__(self) -> None:
        self.statuses: list[dict[str, Any]] = []
        self.errors: list[str] = []

    def send_status(self, status: dict[str, Any], force: bool = False) -> None:
        self.statuses.append(status)

    def send_error(self, text: str) -> None:
        self.errors.append(text)


class FailedMedia:
    def recording_status(self) -> dict[str, Any]:
        return {"recording": False, "path": None, "error": "disk full"}


def test_a_recording_failure_is_told_once_and_again_when_the_channel_reopens() -> None:
    async def scenario() -> tuple[RecordingChannel, Guest]:
        pc = RTCPeerConnection()
        channel = RecordingChannel()
        guest = Guest(name="Ann", pc=pc, client="webrtc", control=channel,
                      config=GuestConfig(plan=make_plan(None), out_dir=Path("/nonexistent")))
        guest.media = FailedMedia()
        messenger = GuestMessenger()
        messenger.add(guest)
        messenger.status(guest)
        messenger.status(guest)  # the same failure: not told again
        guest.fail("disk full")  # as the recording control notes it from the media
        messenger.channel_opened(guest)  # what it missed is told, once
        await pc.close()
        return channel, guest

    channel, guest = asyncio.run(scenario())
    assert channel.errors == ["recording failed: disk full", "disk full"]
    assert channel.statuses[-1] == {"recording": False, "file": None, "guest": "Ann"}
    assert len(channel.statuses) == 3
    guest.fail("the media connection failed (ICE)", unless_failed=True)
    assert guest.error == "disk full"  # the first cause stays
    guest.recovered()
    guest.fail("the media connection failed (ICE)", unless_failed=True)
    assert guest.error == "the media connection failed (ICE)"

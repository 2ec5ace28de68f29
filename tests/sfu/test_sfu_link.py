"""Two Janus servers linked by `guestrec sfu-link`: a guest publishing to one is recorded
by a recorder that only knows the other, and leaves both when it hangs up."""

from __future__ import annotations

import asyncio
from pathlib import Path

from support.janus_guest import JanusGuest
from support.janus_rig import JanusRig, skip_without_janus
from support.sfu_files import assert_unbroken, frame_numbers, recordings
from support.sfu_recorder_process import GuestrecProcess, RecorderProcess

FPS = 15.0
PICKUP_FRAMES = int(FPS)



def test_guest_on_one_janus_is_recorded_through_the_other(tmp_path: Path) -> None:
    skip_without_janus()
    with JanusRig(tmp_path / "a") as near, JanusRig(tmp_path / "b", room=99, beside=near) as far:
        link = GuestrecProcess(
            ["sfu-link", "--from", near.sfu, "--from-room", str(near.room), "--from-secret", near.api_secret,
             "--from-room-secret", near.room_secret, "--to", far.sfu, "--to-room", str(far.room),
             "--to-secret", far.api_secret, "--to-room-secret", far.room_secret], "Linking room")
        recorder = None
        try:
            recorder = RecorderProcess(far, tmp_path / "rec")

            async def show() -> tuple[list[str], int, list[str]]:
                guest = JanusGuest(near, "Olga", fps=FPS)
                try:
                    await guest.publish()
                    for _ in range(50):
                        if await far.publishers() == ["Olga"]:
                            break
                        await asyncio.sleep(0.1)
                    on_far = await far.publishers()
                    await asyncio.sleep(3.0)
                finally:
                    sent = await guest.hang_up()
                for _ in range(50):
                    if not await far.publishers():
                        break
                    await asyncio.sleep(0.1)
                return on_far, sent, await far.publishers()

            on_far, sent, after = asyncio.run(show())
            output = recorder.stop()
        finally:
            if recorder is not None:
                recorder.kill()
            link_output = link.stop()
            link.kill()
    assert on_far == ["Olga"], link_output
    assert after == [], link_output  # unlinked when the guest left
    assert "'Olga' linked to room 99" in link_output
    (path,) = recordings(tmp_path / "rec")["Olga"]
    # Through two Janus servers: picked up within about a second of the link, every frame after.
    assert_unbroken(frame_numbers(path), PICKUP_FRAMES * 2, sent - int(FPS), output)

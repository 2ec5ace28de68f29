"""Recorder machines behind Janus: `guestrec sfu-record` processes against Debian's Janus in
a network namespace, with real aiortc guests publishing counter-numbered frames.

Each file is checked from outside (ffprobe, PyAV): every frame number the guest sent
while the recorder could see it, in order, none twice, and one file per guest per run.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from pathlib import Path

import pytest

from guestrec.ingest.sfu.shard import shard_of
from guestrec.ingest.sfu.videoroom import Publisher
from support.janus_guest import JanusGuest
from support.janus_rig import JanusRig, skip_without_janus
from support.rtp_loss import lose_for_good
from support.sfu_files import assert_unbroken, frame_numbers, recordings
from support.sfu_recorder_process import RecorderProcess

FPS = 15.0
PICKUP_FRAMES = int(FPS * 1.0)  # a new guest is recorded within a second of publishing
# (counted from the frame the guest was at when its connection to Janus was up)
# A restarted recorder first finds the room's publishers, then subscribes to each and waits
# for a keyframe: on a loaded machine that has taken up to two seconds.
RESTART_PICKUP_FRAMES = int(FPS * 3.0)
RESTART_WAIT_S = 15.0


@pytest.fixture
def rig(tmp_path: Path):
    skip_without_janus()
    with JanusRig(tmp_path) as janus:
        yield janus


def names_per_shard(count: int, per_shard: int) -> list[list[str]]:
    """Guest names that the stable hash spreads `per_shard` to each of `count` shards."""
    shards: list[list[str]] = [[] for _ in range(count)]
    for number in range(1, 200):
        name = f"Guest {number}"
        bucket = shards[shard_of(Publisher(0, name), count)]
        if len(bucket) < per_shard:
            bucket.append(name)
        if all(len(b) == per_shard for b in shards):
            return shards
    raise AssertionError("hash never filled the shards")


async def _show(rig: JanusRig, early: list[str], late: str, leaver: str) -> dict[str, tuple[int, int]]:
    """Guests publish; `late` joins 2 s later, `leaver` hangs up after 3 s. Returns each
    guest's (frame index when it was published, frames sent)."""
    guests = {name: JanusGuest(rig, name, fps=FPS) for name in [*early, late]}
    sent: dict[str, int] = {}
    try:
        await asyncio.gather(*(guests[n].publish() for n in early))
        await asyncio.sleep(2.0)
        await guests[late].publish()
        await asyncio.sleep(1.0)
        sent[leaver] = await guests[leaver].hang_up()
        await asyncio.sleep(2.5)
    finally:
        for name, guest in guests.items():
            if name not in sent:
                sent[name] = await guest.hang_up()
    return {name: (guests[name].published_at, count) for name, count in sent.items()}


def test_two_shards_record_each_guest_once(rig: JanusRig, tmp_path: Path) -> None:
    shards = names_per_shard(2, 2)
    outs = [tmp_path / "rec1", tmp_path / "rec2"]
    recorders = [RecorderProcess(rig, outs[i], f"{i + 1}/2") for i in range(2)]
    try:
        everyone = [n for names in shards for n in names]
        late, leaver = shards[1][1], shards[0][0]
        early = [n for n in everyone if n != late]
        sent = asyncio.run(_show(rig, early, late, leaver))
        # Stopping finalizes: every guest has already left, so each file is complete.
        outputs = [r.stop() for r in recorders]
    finally:
        for r in recorders:
            r.kill()
    for index, names in enumerate(shards):
        files = recordings(outs[index])
        assert sorted(files) == sorted(names), (outputs[index], files)
        for name in names:
            (path,) = files[name]  # exactly one file per guest
            meta = json.loads(path.with_suffix(".json").read_text())
            assert meta["status"] == "complete", meta
            assert meta["mode"] == "video" and meta["video"]["codec"] == "vp8"
            numbers = frame_numbers(path)
            # The end: what the guest sent, less what was still in flight when it left.
            assert_unbroken(numbers, sent[name][0] + PICKUP_FRAMES, sent[name][1] - int(FPS),
                            f"{name} in shard {index + 1}")
            print(f"{name}: frames {numbers[0]}..{numbers[-1]} of {sent[name][1]} sent")


def test_restarted_recorder_picks_its_guests_up_again(rig: JanusRig, tmp_path: Path) -> None:
    out = tmp_path / "rec"
    names = ["Anna", "Bert"]

    async def show() -> tuple[dict[str, int], dict[str, int], dict[str, int], dict[str, int], str]:
        guests = [JanusGuest(rig, name, fps=FPS) for name in names]
        first = RecorderProcess(rig, out)
        second = None
        try:
            await asyncio.gather(*(g.publish() for g in guests))
            await asyncio.sleep(2.0)
            first.kill()  # a crash mid-show
            second = await asyncio.to_thread(RecorderProcess, rig, out)
            at_restart = {g.name: g.video.index for g in guests}
            # The spec bounds a new guest's pickup, not a restart's: wait (bounded) until
            # the new run has begun a file for every guest, and say how long that took.
            started = time.monotonic()
            while time.monotonic() - started < RESTART_WAIT_S:
                if all(len(recordings(out).get(name, [])) == 2 for name in names):
                    break
                await asyncio.sleep(0.2)
            print(f"restarted recorder had a file for every guest after {time.monotonic() - started:.1f} s")
            at_pickup = {g.name: g.video.index for g in guests}
            await asyncio.sleep(2.5)
            sent = {g.name: await g.hang_up() for g in guests}
            await asyncio.sleep(0.5)
            output = await asyncio.to_thread(second.stop)
        finally:
            for g in guests:
                await g.hang_up()
            first.kill()
            if second is not None:
                second.kill()
        return at_restart, at_pickup, sent, {g.name: g.published_at for g in guests}, output

    at_restart, at_pickup, sent, published, output = asyncio.run(show())
    files = recordings(out)
    assert sorted(files) == names
    for name in names:
        assert len(files[name]) == 2, (files[name], output)  # the crashed run's file and the new one
        crashed, resumed = sorted(files[name], key=lambda p: p.stat().st_mtime)
        assert frame_numbers(crashed)[0] <= published[name] + PICKUP_FRAMES
        meta = json.loads(resumed.with_suffix(".json").read_text())
        assert meta["status"] == "complete"
        numbers = frame_numbers(resumed)
        assert_unbroken(numbers, max(at_restart[name] + RESTART_PICKUP_FRAMES, at_pickup[name]),
                        sent[name] - int(FPS), name)


def test_janus_restart_is_reported_and_recording_resumes(rig: JanusRig, tmp_path: Path) -> None:
    out = tmp_path / "rec"

    async def show(recorder: RecorderProcess) -> tuple[int, int]:
        guest = JanusGuest(rig, "Carla", fps=FPS)
        try:
            await guest.publish()
            await asyncio.sleep(2.0)
            await asyncio.to_thread(rig.restart)  # Janus crashes and comes back empty
            assert await asyncio.to_thread(recorder.wait_for, "Janus went away", 10), recorder.output
            await guest.hang_up()
            # The guest joins again, as our guest page does after a failed connection.
            guest = JanusGuest(rig, "Carla", fps=FPS)
            await asyncio.sleep(1.5)  # the recorder retries once a second
            await guest.publish()
            await asyncio.sleep(2.5)
        finally:
            sent = await guest.hang_up()
        return guest.published_at, sent

    recorder = RecorderProcess(rig, out)
    try:
        published, sent = asyncio.run(show(recorder))
        assert recorder.wait_for("following room", 5), recorder.output
        output = recorder.stop()
    finally:
        recorder.kill()
    files = recordings(out)
    assert list(files) == ["Carla"] and len(files["Carla"]) == 2, (files, output)
    before, after = sorted(files["Carla"], key=lambda p: p.stat().st_mtime)
    # The file cut by the restart is finalized, and the recorder said why it ended.
    assert "'Carla' leaves: Janus went away" in output, output
    meta = json.loads(before.with_suffix(".json").read_text())
    assert meta["status"] == "complete", meta
    assert frame_numbers(before)[-1] >= 2.0 * FPS - FPS
    assert_unbroken(frame_numbers(after), published + PICKUP_FRAMES, sent - int(FPS), "after the restart")


def test_recorder_started_before_janus_waits_for_it(rig: JanusRig, tmp_path: Path) -> None:
    out = tmp_path / "rec"
    rig.stop()
    recorder = RecorderProcess(rig, out)
    try:
        assert recorder.wait_for("Waiting for Janus", 5), recorder.output
        rig.start()
        assert recorder.wait_for("following room", 10), recorder.output

        async def show() -> tuple[int, int]:
            guest = JanusGuest(rig, "Early", fps=FPS)
            try:
                await guest.publish()
                await asyncio.sleep(2.5)
            finally:
                sent = await guest.hang_up()
            return guest.published_at, sent

        published, sent = asyncio.run(show())
        output = recorder.stop()
    finally:
        recorder.kill()
    (path,) = recordings(out)["Early"]
    assert_unbroken(frame_numbers(path), published + PICKUP_FRAMES, sent - int(FPS), output)


def test_dropped_subscription_is_made_again_while_the_guest_publishes(rig: JanusRig, tmp_path: Path) -> None:
    """In-process recorder: its connection to Janus for one guest closes (as when the
    network between them drops); the guest still publishes, so it is subscribed again."""
    from guestrec.common.plan import make_plan
    from guestrec.ingest.sfu.shard import Shard
    from guestrec.ingest.sfu.shard_recorder import RecorderSettings, ShardRecorder

    out = tmp_path / "rec"
    settings = RecorderSettings(url=rig.url, room=rig.room, api_secret=rig.api_secret, shard=Shard(1, 1),
                                plan=make_plan(None, codec="copy"), out_dir=out)

    async def show() -> tuple[int, int]:
        recorder = ShardRecorder(settings)
        await recorder.start()
        guest = JanusGuest(rig, "Flaky", fps=FPS)
        try:
            await guest.publish()
            await asyncio.sleep(2.0)
            (first,) = recorder.follower.guests.values()
            dropped_at = guest.video.index
            await first.pc.close()
            for _ in range(60):
                again = list(recorder.follower.guests.values())
                if again and again[0] is not first and again[0].pc.connectionState == "connected":
                    break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("not subscribed again")
            await asyncio.sleep(2.0)
        finally:
            sent = await guest.hang_up()
            await asyncio.sleep(0.5)
            await recorder.stop()
        return dropped_at, sent

    dropped_at, sent = asyncio.run(show())
    before, after = sorted(recordings(out)["Flaky"], key=lambda p: p.stat().st_mtime)
    assert frame_numbers(before)[-1] >= dropped_at - FPS
    # Back within the retry second plus a keyframe's wait.
    assert_unbroken(frame_numbers(after), dropped_at + int(2.5 * FPS), sent - int(FPS), "after the drop")


def test_loss_through_janus_costs_about_a_second(rig: JanusRig, tmp_path: Path) -> None:
    """Packets lost for good between Janus and a copy recorder: the broken frames are left
    out and the keyframe asked for reaches the guest through Janus, so about a second is
    missing, not everything until the guest's next keyframe of its own."""
    from guestrec.common.plan import make_plan
    from guestrec.ingest.sfu.shard import Shard
    from guestrec.ingest.sfu.shard_recorder import RecorderSettings, ShardRecorder

    out = tmp_path / "rec"
    settings = RecorderSettings(url=rig.url, room=rig.room, api_secret=rig.api_secret, shard=Shard(1, 1),
                                plan=make_plan(None, codec="copy"), out_dir=out)

    async def show() -> tuple[list[int], int]:
        recorder = ShardRecorder(settings)
        await recorder.start()
        guest = JanusGuest(rig, "Lossy", fps=FPS)
        try:
            await guest.publish()
            for _ in range(50):
                if recorder.follower.guests:
                    break
                await asyncio.sleep(0.1)
            (entry,) = recorder.follower.guests.values()
            receiver = next(t.receiver for t in entry.pc.getTransceivers() if t.kind == "video")
            lost = lose_for_good(receiver, count=3, after_packets=60)
            await asyncio.sleep(6.0)
        finally:
            sent = await guest.hang_up()
            await asyncio.sleep(0.5)
            await recorder.stop()
        return lost, sent

    lost, sent = asyncio.run(show())
    assert len(lost) == 3
    (path,) = recordings(out)["Lossy"]
    numbers = frame_numbers(path)
    gaps = [(a, b) for a, b in itertools.pairwise(numbers) if b != a + 1]
    assert len(gaps) == 1, gaps
    assert gaps[0][1] - gaps[0][0] <= FPS * 2, gaps  # about a second, not until a natural keyframe
    assert numbers[-1] >= sent - FPS and numbers[-1] >= gaps[0][1] + FPS * 2  # and went on

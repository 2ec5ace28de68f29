"""A guest's media is decoded only while a sink uses it (common/interfaces.py sink_wants):
a real aiortc guest, the control room's picture keeper and the return feed's input as sinks.
Nobody looking: nothing decoded; the control room looks: pictures within seconds; it stops
looking: decoding stops. An OBS-like sink that never answers is always fed."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp

from guestrec.conversation.return_feed import ReturnFeed
from guestrec.conversation.settings import ReturnSettings
from guestrec.conversation.sink_tee import SinkTee
from guestrec.media import GuestMedia
from guestrec.server import guest_pictures
from guestrec.server.guest_pictures import GuestPictures
from support.peer_pair import PeerPair
from support.serve_process import ServeProcess
from support.synthetic import CounterVideoTrack, ToneAudioTrack
from support.whip_client import WhipClient


class ObsLikeSink:
    def __init__(self) -> None:
        self.video = 0

    def on_video(self, frame: Any, timestamp_ns: int) -> None:
        self.video += 1

    def on_audio(self, frame: Any, timestamp_ns: int) -> None:
        pass

    def on_connected(self) -> None:
        pass

    def on_disconnected(self) -> None:
        pass


async def guest_with(make_sink) -> tuple[GuestMedia, PeerPair]:
    media = GuestMedia("Ann")
    pair = PeerPair([CounterVideoTrack(320, 240), ToneAudioTrack()],
                    on_track=lambda receiver, track: media.attach(receiver, track))
    await pair.start()
    await pair.connected()
    media.add_sink(make_sink())
    return media, pair


def test_nobody_looking_decodes_nothing_and_a_look_starts_pictures(monkeypatch) -> None:
    monkeypatch.setattr(guest_pictures, "LOOK_LASTS_S", 2.0)

    async def run() -> tuple[dict, dict, int, int, int]:
        pictures = GuestPictures()
        feed = ReturnFeed(ReturnSettings())
        media, pair = await guest_with(lambda: SinkTee.of(pictures.sink_for("Ann"), feed.sink_for("Ann")))
        try:
            await asyncio.sleep(4.0)
            unseen = dict(media.decoded_frames)
            pictures.frames_seen("Ann")  # the control room asks: someone looks
            for _ in range(40):
                await asyncio.sleep(0.1)
                pictures.frames_seen("Ann")
            looked = dict(media.decoded_frames)
            seen_while_looking = pictures.frames_seen("Ann")
            await asyncio.sleep(4.0)  # nobody asks any more
            after = media.decoded_frames["video"]
            await asyncio.sleep(2.0)
            return unseen, looked, seen_while_looking, after, media.decoded_frames["video"]
        finally:
            await media.close()
            await feed.close()
            await pair.close()

    unseen, looked, seen, after, later = asyncio.run(run())
    print(unseen, looked, seen, after, later)
    assert unseen == {"audio": 0, "video": 0}  # no listener, no watcher, no viewer
    assert looked["video"] >= 30 and seen >= 30 and looked["audio"] == 0
    assert later == after  # stopped once nobody looked for LOOK_LASTS_S


def test_a_sink_that_does_not_say_is_always_fed() -> None:
    async def run() -> int:
        sink = ObsLikeSink()
        media, pair = await guest_with(lambda: sink)
        try:
            await asyncio.sleep(3.0)
            return sink.video
        finally:
            await media.close()
            await pair.close()

    assert asyncio.run(run()) >= 45


def test_serve_decodes_a_copy_guest_only_once_the_control_room_looks(tmp_path: Path) -> None:
    """Through `guestrec serve --codec copy` (the engine, continuity sinks included): a
    guest nobody looks at is recorded without a frame decoded; asking for the guest list
    (as the control room does) starts its pictures."""
    server = ServeProcess(tmp_path, "--codec", "copy", "--record", "1000")

    async def scenario() -> tuple[dict, dict]:
        async with aiohttp.ClientSession() as http:
            async def row() -> dict:
                async with http.get(f"{server.base}/api/guests", headers=server.operator()) as r:
                    return (await r.json())[0]

            async with WhipClient(server.base + "/whip/Pia", server.token,
                                  tracks=[ToneAudioTrack(), CounterVideoTrack(320, 240)]) as pia:
                await pia.publish()
                await pia.wait_connected(10)
                await asyncio.sleep(4.0)
                unseen = await row()  # the first look: what was decoded before it
                for _ in range(30):
                    await asyncio.sleep(0.2)
                    looked = await row()
                    if (looked["decoded_frames"] or {}).get("video", 0) >= 20:
                        break
                return unseen, looked

    try:
        unseen, looked = asyncio.run(asyncio.wait_for(scenario(), 60))
    finally:
        server.stop()
    print(unseen["decoded_frames"], looked["decoded_frames"])
    assert unseen["recording"] and unseen["decoded_frames"] == {"audio": 0, "video": 0}
    assert looked["decoded_frames"]["video"] >= 20 and looked["decoded_frames"]["audio"] == 0

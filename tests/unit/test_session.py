"""The guest core with the WHIP ingest and real aiortc guests: manual recording, failures, sinks, settings."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import pytest

from guestrec.common.plan import make_plan
from guestrec.core import guest_lifecycle
from guestrec.webrtc import sdp
from support.counting_sink import CountingSink
from support.guest_server import running_server
from support.media_probe import probe
from support.whip_client import WhipClient, post_raw


def run(coro, timeout: float = 60):
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def wait_until(predicate, timeout: float = 10.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise TimeoutError("condition not met in time")


def test_manual_recording_start_and_stop_with_a_sink(tmp_path: Path) -> None:
    sinks: list[CountingSink] = []

    def sink_factory(name: str) -> CountingSink:
        sinks.append(CountingSink(name))
        return sinks[-1]

    async def scenario() -> Path:
        async with running_server(tmp_path, record=1000, auto_record=False,
                                  sink_factory=sink_factory) as server:
            async with WhipClient(server.whip_url("Ann"), server.token) as ann:
                await ann.publish()
                await ann.wait_connected()
                first = await ann.wait_message(lambda m: m.get("type") == "recording")
                assert first["recording"] is False and first["file"] is None
                (status,) = server.sessions.guest_statuses()
                assert not status["recording"] and status["file"] is None and status["error"] is None

                assert await server.sessions.start_recording("nobody") == []
                assert await server.sessions.start_recording("Ann") == ["Ann"]
                assert await server.sessions.start_recording() == []  # already recording
                on = await ann.wait_message(lambda m: m.get("type") == "recording" and m["recording"])
                assert on["file"].startswith("Ann ")
                await asyncio.sleep(2.5)
                (status,) = server.sessions.guest_statuses()
                assert status["recording"] and status["recording_seconds"] > 1.0
                assert Path(status["file"]).name == on["file"]

                assert await server.sessions.stop_recording() == ["Ann"]
                off = await ann.wait_message(lambda m: m.get("type") == "recording" and not m["recording"])
                assert off["file"] is None
                (status,) = server.sessions.guest_statuses()
                assert not status["recording"]
                await wait_until(lambda: sinks[0].counts["video"] > 10 and sinks[0].counts["audio"] > 10)
                path = Path(status["file"])
            await wait_until(lambda: sinks[0].counts["disconnected"] == 1)
            return path

    path = run(scenario())
    (sink,) = sinks
    assert sink.name == "Ann"
    assert sink.counts["connected"] == 1 and sink.counts["disconnected"] == 1
    assert sink.video_sizes == {(320, 240)}
    info = probe(path)
    assert {s["codec_type"] for s in info["streams"]} == {"audio", "video"}
    assert 1.5 < float(info["format"]["duration"]) < 6


def test_unwritable_folder_is_reported_to_the_guest(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("in the way")

    async def scenario() -> tuple[dict, dict]:
        async with running_server(not_a_folder / "rec", record=-32) as server:
            async with WhipClient(server.whip_url("Ben"), server.token, video=False) as ben:
                await ben.publish()
                await ben.wait_connected()
                error = await ben.wait_message(lambda m: m.get("type") == "error")
                (status,) = server.sessions.guest_statuses()
                return error, status

    error, status = run(scenario())
    assert "cannot write the recording" in error["message"]
    assert status["error"] == error["message"] and not status["recording"]
    assert status["connected"]  # the guest stays, just unrecorded


def test_settings_apply_to_the_next_guest(tmp_path: Path) -> None:
    async def scenario() -> tuple[str, str, list[dict]]:
        async with running_server(tmp_path, record=6000, auto_record=False) as server:
            first = WhipClient(server.whip_url("One"), server.token, data_channel=False)
            answer1 = await first.publish()
            server.config.plan = make_plan(-48)
            second = WhipClient(server.whip_url("Two"), server.token, data_channel=False)
            answer2 = await second.publish()
            statuses = server.sessions.guest_statuses()
            for client in (first, second):
                await client.close()
            return answer1, answer2, statuses

    answer1, answer2, statuses = run(scenario())
    assert sdp.fmtp_params(answer1, "opus")[0]["maxaveragebitrate"] == "128000"
    assert sdp.bandwidth_lines(answer1, "video") == ["b=AS:6000", "b=TIAS:6000000"]
    assert sdp.fmtp_params(answer2, "opus")[0]["maxaveragebitrate"] == "48000"
    assert sdp.bandwidth_lines(answer2, "video") == []
    assert [(s["name"], s["mode"]) for s in statuses] == [("One", "video"), ("Two", "audio-opus")]


def test_guest_that_never_connects_is_dropped(tmp_path: Path, monkeypatch, caplog) -> None:
    monkeypatch.setattr(guest_lifecycle, "CONNECT_TIMEOUT_S", 1.0)
    caplog.set_level(logging.WARNING, logger="guestrec.core")

    sinks_made: list[str] = []

    async def scenario() -> list:
        async with running_server(tmp_path, sink_factory=lambda name: sinks_made.append(name)) as server:
            ghost = WhipClient(server.whip_url("Ghost"), server.token)
            for track in ghost.tracks:
                ghost.pc.addTransceiver(track, direction="sendonly")
            await ghost.pc.setLocalDescription(await ghost.pc.createOffer())
            offer = ghost.pc.localDescription.sdp
            await ghost.pc.close()  # nobody will answer the server's ICE checks
            status, _, _ = await post_raw(server.whip_url("Ghost"), offer, {
                "Authorization": f"Bearer {server.token}", "Content-Type": "application/sdp"})
            assert status == 201
            assert [s["name"] for s in server.sessions.guest_statuses()] == ["Ghost"]
            await wait_until(lambda: not server.sessions.guest_statuses(), 5)
            return server.sessions.guest_statuses()

    assert run(scenario()) == []
    assert any("did not connect within 1 s" in r.getMessage() for r in caplog.records)
    assert sinks_made == []  # no OBS source for a guest who never connected


def test_close_all_finalizes_recordings(tmp_path: Path) -> None:
    async def scenario() -> list[dict]:
        async with running_server(tmp_path, record=0) as server:  # PCM audio only
            guest = WhipClient(server.whip_url("Cleo"), server.token, video=False)
            await guest.publish()
            await guest.wait_connected()
            await guest.wait_message(lambda m: m.get("type") == "recording" and m["recording"])
            await asyncio.sleep(2)
            before = server.sessions.guest_statuses()
            await server.sessions.close_all()
            assert server.sessions.guest_statuses() == []
            await guest.pc.close()
            return before

    (status,) = run(scenario())
    assert status["mode"] == "audio-pcm" and status["inbound_audio_kbps"] == 256
    info = probe(Path(status["file"]))
    (stream,) = info["streams"]
    assert stream["codec_type"] == "audio" and stream["codec_name"].startswith("pcm_f32")
    assert float(info["format"]["duration"]) > 1.0


@pytest.mark.parametrize("name", ["../x", "CON"])
def test_hostile_names_record_inside_the_folder(tmp_path: Path, name: str) -> None:
    out = tmp_path / "rec"

    async def scenario() -> dict:
        async with running_server(out, record=-32) as server:
            async with WhipClient(server.whip_url(name), server.token, video=False) as guest:
                await guest.publish()
                await guest.wait_message(lambda m: m.get("type") == "recording" and m["recording"])
                await asyncio.sleep(1.5)
                (status,) = server.sessions.guest_statuses()
                return status

    status = run(scenario())
    path = Path(status["file"])
    assert status["name"] == name
    assert path.parent.parent == out.resolve() and path.exists()  # in the session folder
    assert path.name.startswith("x " if name == "../x" else "_CON ")


def test_recording_ended_before_the_first_sender_reports_keeps_its_frames(tmp_path: Path) -> None:
    """A guest who hangs up within half a second of joining: the frames held while the
    timeline waited for RTCP sender reports still reach the file."""

    async def scenario() -> Path:
        async with running_server(tmp_path, record=1000) as server:
            guest = WhipClient(server.whip_url("Quick"), server.token)
            await guest.publish()
            await guest.wait_connected()
            on = await guest.wait_message(lambda m: m.get("type") == "recording" and m["recording"])
            await asyncio.sleep(0.4)  # aiortc sends its first sender report after 0.5-1.5 s
            await guest.delete()
            await guest.pc.close()
            await wait_until(lambda: not server.sessions.guest_statuses(), 10)
            return next(tmp_path.glob("Session */" + on["file"]))

    path = run(scenario())
    info = probe(path)
    kinds = {s["codec_type"] for s in info["streams"]}
    assert kinds == {"audio", "video"}, info
    assert float(info["format"]["duration"]) > 0.1
    sidecar = json.loads(path.with_suffix(".json").read_text())
    # The path under test: no reports had come, the frames were placed by arrival.
    assert sidecar["av_sync"]["timeline"] == {"mode": "arrival",
                                              "sender_reports": {"audio": 0, "video": 0}}
    assert sidecar["video"]["frames"] >= 3 and sidecar["audio"]["samples"] >= 9600


def test_delete_just_after_the_connection_closed_still_ends_cleanly(tmp_path: Path) -> None:
    """A client that closes its connection before its DELETE arrives: the studio has already
    ended the session on its own, and the DELETE is answered 200, not 404. A second DELETE,
    and one for a session that never existed, get 404."""

    async def scenario() -> tuple[int | None, int, int]:
        async with running_server(tmp_path, record=-32) as server:
            guest = WhipClient(server.whip_url("Lee"), server.token, video=False)
            await guest.publish()
            await guest.wait_connected()
            await guest.pc.close()
            await wait_until(lambda: not server.sessions.guest_statuses(), 15)
            location = guest.location
            late = await guest.delete()
            auth = {"Authorization": f"Bearer {server.token}"}
            again, _, _ = await post_raw(location, b"", auth, method="DELETE")
            never, _, _ = await post_raw(location.rsplit("/", 1)[0] + "/never-was", b"", auth,
                                         method="DELETE")
            return late, again, never

    assert run(scenario()) == (200, 404, 404)

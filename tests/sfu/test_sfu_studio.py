"""`guestrec serve --sfu`: a WHIP guest goes through Debian's Janus (in a network namespace)
and is recorded by the studio, which subscribes to it; the page's recording state comes
as server-sent events; DELETE makes the publisher leave the room."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from obs_launcher.obs_config import free_port
from support.cdp import CHROMIUM, Chromium
from support.janus_guest import JanusGuest
from support.janus_rig import JanusRig, skip_without_janus
from support.media_probe import decoded_video, ffprobe_decode_errors, probe, read_counter
from support.serve_process import ROOT, ServeProcess
from support.sfu_files import recordings
from support.synthetic import CounterVideoTrack, ToneAudioTrack
from support.whip_client import WhipClient, post_raw

FPS = 15.0


@pytest.fixture
def rig(tmp_path: Path):
    skip_without_janus()
    with JanusRig(tmp_path) as janus:
        yield janus


async def read_events(url: str, into: list[dict], done: asyncio.Event) -> None:
    """An EventSource's view of the stream: each `data:` line parsed as JSON."""
    async with aiohttp.ClientSession() as http:
        async with http.get(url) as resp:
            assert resp.status == 200 and resp.content_type == "text/event-stream"
            async for raw in resp.content:
                line = raw.decode().strip()
                if line.startswith("data: "):
                    into.append(json.loads(line[6:]))
                    done.set()


def events_url(server: ServeProcess, guest: WhipClient) -> str:
    """The page's event stream, from the answer's Link headers (ICE servers may come too)."""
    (link,) = [v for v in guest.headers.getall("Link", []) if 'rel="urn:guestrec:events"' in v]
    return server.base + link[link.index("<") + 1:link.index(">")] + "?token=" + server.token



def test_whip_guest_through_janus_is_recorded_by_the_studio(rig: JanusRig, tmp_path: Path) -> None:
    out = tmp_path / "rec"
    server = ServeProcess(out, "--codec", "copy", "--sfu", rig.sfu, "--sfu-room", str(rig.room),
                          "--sfu-secret", rig.api_secret)

    async def show() -> tuple[list[dict], list[dict], int, str]:
        video = CounterVideoTrack(320, 240, fps=FPS)
        events: list[dict] = []
        arrived = asyncio.Event()
        async with WhipClient(f"{server.base}/whip/Alice", token=server.token,
                              tracks=[ToneAudioTrack(), video]) as guest:
            answer = await guest.publish()
            await guest.wait_connected()
            url = events_url(server, guest)
            reader = asyncio.ensure_future(read_events(url, events, arrived))
            # Recording state reaches the page within a second or two of publishing.
            for _ in range(100):
                if any(m.get("recording") for m in events):
                    break
                await asyncio.sleep(0.05)
            assert await rig.publishers() == ["Alice"]
            guests_url = f"{server.base}/api/guests"
            _status, body, _ = await post_raw(guests_url, None, server.operator(), method="GET")
            (entry,) = json.loads(body)
            assert entry["client"] == "janus" and entry["connected"] and entry["recording"], entry
            await asyncio.sleep(3.0)
            sent = video.index
            assert await guest.delete() == 200
        await asyncio.wait_for(reader, 5)  # the stream ends with the session
        await asyncio.sleep(1.0)
        return events, [], sent, answer

    try:
        events, _, sent, answer = asyncio.run(show())
        # The answer is Janus's, tuned to the plan (stereo Opus at the plan's bitrate).
        assert "janus" in answer and "stereo=1" in answer and "maxaveragebitrate=128000" in answer
        assert asyncio.run(rig.publishers()) == []  # DELETE made it leave the room
    finally:
        output = server.stop()
    recording = [m for m in events if m.get("type") == "recording" and m.get("recording")]
    assert recording and recording[0]["guest"] == "Alice" and recording[0]["file"], (events, output)
    (path,) = recordings(out)["Alice"]
    assert path.name == recording[0]["file"]
    meta = json.loads(path.with_suffix(".json").read_text())
    assert meta["status"] == "complete", meta
    assert ffprobe_decode_errors(path) == ""
    numbers = [n for _, n in decoded_video(path, read_counter)]
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))
    assert numbers[0] <= FPS * 1.5 and numbers[-1] >= sent - FPS, (numbers[0], numbers[-1], sent)


def test_wrong_janus_secret_or_room_is_refused_clearly(rig: JanusRig, tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "lib"))
    common = ["--sfu", rig.sfu, "--out", str(tmp_path / "rec")]
    cases = [
        (["serve", "--port", str(free_port()), *common, "--sfu-room", str(rig.room), "--sfu-secret", "wrong"],
         "Unauthorized"),
        (["sfu-record", *common, "--sfu-room", "999", "--sfu-secret", rig.api_secret],
         "no VideoRoom room 999"),
        (["sfu-record", *common, "--sfu-room", str(rig.room), "--shard", "3/2"], "between 1 and N"),
        (["sfu-record", "--sfu", "http://x", "--sfu-room", "1"], "janus:URL"),
    ]
    for args, reason in cases:
        done = subprocess.run([sys.executable, "-m", "guestrec", *args], env=env, capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 2 and reason in done.stderr, (args, done.stdout, done.stderr)


@pytest.mark.browser
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium")
def test_guest_page_in_chromium_through_janus(rig: JanusRig, tmp_path: Path) -> None:
    """The unchanged guest link: the page learns it is recorded from the studio's events."""
    out = tmp_path / "rec"
    server = ServeProcess(out, "--codec", "copy", "--sfu", rig.sfu, "--sfu-room", str(rig.room),
                          "--sfu-secret", rig.api_secret)

    async def scenario() -> dict:
        async with Chromium(tmp_path / "profile") as browser:
            page = await browser.open(f"{server.base}/?name=Zoe&token={server.token}")
            await page.wait_for("window.guestState.media", 15)
            await page.evaluate("document.getElementById('join').click()")
            await page.wait_for("window.guestState.connected", 20)
            await page.wait_for("window.guestState.recording", 20)
            assert await rig.publishers() == ["Zoe"]
            await asyncio.sleep(2)
            state = json.loads(await page.evaluate("JSON.stringify(window.guestState)"))
            state["banner"] = await page.evaluate("document.getElementById('rec-text').textContent")
            await page.evaluate("document.getElementById('hangup').click()")
            await page.wait_for(
                "document.getElementById('status').textContent === 'You left the studio.'", 10)
            return state

    try:
        state = asyncio.run(asyncio.wait_for(scenario(), 90))
        assert asyncio.run(rig.publishers()) == []
    finally:
        output = server.stop()
    assert state["banner"] == "You are being recorded" and state["error"] is None, (state, output)
    (path,) = recordings(out)["Zoe"]
    assert state["file"] == path.name
    assert json.loads(path.with_suffix(".json").read_text())["status"] == "complete"
    assert ffprobe_decode_errors(path) == ""
    assert {s["codec_type"] for s in probe(path)["streams"]} == {"audio", "video"}


def test_janus_restart_tells_the_page_and_the_studio_recovers(rig: JanusRig, tmp_path: Path) -> None:
    out = tmp_path / "rec"
    server = ServeProcess(out, "--codec", "copy", "--sfu", rig.sfu, "--sfu-room", str(rig.room),
                          "--sfu-secret", rig.api_secret)

    async def show() -> tuple[list[dict], int, str, list[dict]]:
        events: list[dict] = []
        arrived = asyncio.Event()
        guest = WhipClient(f"{server.base}/whip/Dora", token=server.token,
                           tracks=[ToneAudioTrack(), CounterVideoTrack(320, 240, fps=FPS)])
        await guest.publish()
        await guest.wait_connected()
        url = events_url(server, guest)
        reader = asyncio.ensure_future(read_events(url, events, arrived))
        for _ in range(100):
            if any(m.get("recording") for m in events):
                break
            await asyncio.sleep(0.05)
        assert any(m.get("recording") for m in events), events
        await asyncio.sleep(1.5)
        rig.stop()
        # While Janus is down an offer is refused with the reason, not left hanging.
        refused, reason = 0, ""
        for _ in range(50):
            again = WhipClient(f"{server.base}/whip/Eve", token=server.token)
            try:
                await again.publish()
            except Exception as exc:  # noqa: BLE001 - the refusal is what is looked for
                refused, reason = getattr(exc, "status", 0), str(exc)
            finally:
                await again.close()
            if refused == 503:
                break
            await asyncio.sleep(0.2)
        await asyncio.wait_for(reader, 10)  # the page is told, then the stream ends
        await guest.close()
        await asyncio.to_thread(rig.start)
        # Janus is back: the guest joins again (as the page lets it) and is recorded.
        statuses: list[dict] = []
        for _ in range(50):
            back = WhipClient(f"{server.base}/whip/Dora", token=server.token,
                              tracks=[ToneAudioTrack(), CounterVideoTrack(320, 240, fps=FPS)])
            try:
                await back.publish()
            except Exception:  # noqa: BLE001 - the studio retries Janus once a second
                await back.close()
                await asyncio.sleep(0.3)
                continue
            async with back:
                await back.wait_connected()
                for _ in range(100):
                    _, body, _ = await post_raw(
                        f"{server.base}/api/guests", None, server.operator(), method="GET")
                    statuses = json.loads(body)
                    if statuses and statuses[0]["recording"]:
                        break
                    await asyncio.sleep(0.1)
                await asyncio.sleep(2)
            break
        return events, refused, reason, statuses

    try:
        events, refused, reason, statuses = asyncio.run(show())
    finally:
        output = server.stop()
    assert refused == 503 and "media server cannot be reached" in reason, reason
    assert {"type": "error", "message": "The studio's media server restarted; join again."} in events, events
    assert "Janus went away" in output
    assert statuses and statuses[0]["name"] == "Dora" and statuses[0]["recording"], (statuses, output)
    files = recordings(out)["Dora"]
    assert len(files) == 2, files  # before and after the restart, each finalized
    for path in files:
        assert json.loads(path.with_suffix(".json").read_text())["status"] == "complete"
        assert ffprobe_decode_errors(path) == ""


def test_obs_controller_shows_a_janus_outage_and_its_end(rig: JanusRig, tmp_path: Path) -> None:
    """What the OBS script shows (its controller's error line), with the real engine."""
    from guestrec.obs_bridge.controller import GuestRecorderController, ScriptOptions
    from support.obs_harness import wait_until

    logs: list[str] = []
    options = ScriptOptions(out_dir=str(tmp_path / "rec"), port=free_port(), token="t" * 16,
                            sfu=rig.sfu, sfu_room=rig.room, sfu_secret=rig.api_secret)
    controller = GuestRecorderController(options, default_out_dir=lambda: tmp_path,
                                         log=lambda level, message: logs.append(f"{level}: {message}"))
    controller.start()
    try:
        wait_until(lambda: controller.running or None, 20, what="the guest server")
        assert controller.last_error == ""
        rig.stop()
        wait_until(lambda: controller.last_error.startswith("SFU: Janus went away") or None, 10,
                   what="the outage to show")
        rig.start()
        wait_until(lambda: controller.last_error == "" or None, 10, what="the outage to clear")
        assert "info: SFU: guests come in again" in logs
    finally:
        controller.stop(timeout=10)


def test_director_reaches_an_sfu_guest_and_its_hang_up_sticks(rig: JanusRig, tmp_path: Path) -> None:
    """Requests travel over the page's event stream; a hung-up guest leaves the room and
    is not subscribed again (its page closes its connection, as the guest page does)."""
    from guestrec.server.engine import Engine, EngineSettings

    engine = Engine(EngineSettings(out_dir=tmp_path / "rec", port=free_port(), token="t" * 16, codec="copy",
                                   sfu=rig.sfu, sfu_room=rig.room, sfu_secret=rig.api_secret))
    engine.start()

    async def show() -> tuple[list[dict], list[str], list[dict]]:
        events: list[dict] = []
        arrived = asyncio.Event()
        guest = WhipClient(f"{engine.base_url}/whip/Mia", token=engine.token,
                           tracks=[ToneAudioTrack(), CounterVideoTrack(320, 240, fps=FPS)])
        await guest.publish()
        await guest.wait_connected()
        (link,) = [v for v in guest.headers.getall("Link", []) if "urn:guestrec:events" in v]
        url = engine.base_url + link[link.index("<") + 1:link.index(">")] + "?token=" + engine.token
        reader = asyncio.ensure_future(read_events(url, events, arrived))
        for _ in range(100):
            if any(m.get("recording") for m in events):
                break
            await asyncio.sleep(0.05)
        await asyncio.to_thread(engine.message_guest, "Mia", "Stand by")
        await asyncio.to_thread(engine.hang_up, "Mia")
        for _ in range(50):
            if any(m.get("type") == "hangup" for m in events):
                break
            await asyncio.sleep(0.05)
        await guest.pc.close()  # what the page does when told to hang up (no DELETE)
        await asyncio.wait_for(reader, 10)
        await asyncio.sleep(2.5)  # longer than a resubscription would take
        mia_after = (await rig.publishers(), await asyncio.to_thread(engine.guests))
        # A guest of another studio in the room: hung up here, it stays out of this studio.
        ned = JanusGuest(rig, "Ned", fps=FPS)
        try:
            await ned.publish()
            for _ in range(100):
                if any(g["name"] == "Ned" and g["connected"] for g in await asyncio.to_thread(engine.guests)):
                    break
                await asyncio.sleep(0.1)
            await asyncio.to_thread(engine.hang_up, "Ned")
            await asyncio.sleep(2.5)
            ned_after = (await rig.publishers(), await asyncio.to_thread(engine.guests))
        finally:
            await ned.hang_up()
        return events, mia_after, ned_after

    try:
        events, mia_after, ned_after = asyncio.run(show())
    finally:
        engine.stop(timeout=10)
    kinds = [m.get("type") for m in events]
    assert {"type": "message", "text": "Stand by"} in events and "hangup" in kinds, events
    assert mia_after == ([], []), mia_after  # left the room, not taken again
    assert ned_after == (["Ned"], []), ned_after  # still publishing elsewhere, not taken again


def test_dropped_guest_comes_back_through_janus_into_its_take(rig: JanusRig, tmp_path: Path) -> None:
    """A guest whose connection drops (no DELETE) and who comes back with the resume secret
    of its 201 gets its name back, and its recording goes on as part 2 of the same take."""
    out = tmp_path / "rec"
    server = ServeProcess(out, "--codec", "copy", "--sfu", rig.sfu, "--sfu-room", str(rig.room),
                          "--sfu-secret", rig.api_secret)

    async def guests_api() -> list[dict]:
        _, body, _ = await post_raw(f"{server.base}/api/guests", None, server.operator(), method="GET")
        return json.loads(body)

    async def recording_alice() -> dict:
        for _ in range(150):
            found = [g for g in await guests_api() if g["name"] == "Alice" and g["recording"]]
            if found:
                return found[0]
            await asyncio.sleep(0.1)
        raise AssertionError(f"Alice not recording: {await guests_api()}")

    async def show() -> tuple[WhipClient, WhipClient, dict, dict]:
        first = WhipClient(f"{server.base}/whip/Alice", token=server.token,
                           tracks=[ToneAudioTrack(), CounterVideoTrack(320, 240, fps=FPS)])
        await first.publish()
        await first.wait_connected()
        before = await recording_alice()
        await asyncio.sleep(2.0)
        await first.pc.close()  # gone without a DELETE, like a closed laptop
        await asyncio.sleep(1.0)
        async with WhipClient(f"{server.base}/whip/Alice", token=server.token,
                              tracks=[ToneAudioTrack(), CounterVideoTrack(320, 240, fps=FPS)],
                              headers={"Guestrec-Resume": first.resume_secret}) as second:
            await second.publish()
            await second.wait_connected()
            await asyncio.sleep(1.0)
            after = await recording_alice()
            await asyncio.sleep(2.0)
            assert await second.delete() == 200
        return first, second, before, after

    try:
        first, second, before, after = asyncio.run(asyncio.wait_for(show(), 90))
    finally:
        output = server.stop()
    assert first.resume_secret and second.given_name == "Alice", output
    assert second.resume_secret == first.resume_secret, output
    assert after["file"] != before["file"], (before, after)
    files = sorted(recordings(out)["Alice"], key=lambda p: p.stat().st_mtime)
    assert [p.name for p in files] == [before["file"], after["file"]], output
    take1, take2 = (json.loads(p.with_suffix(".json").read_text())["take"] for p in files)
    assert take1["id"] == take2["id"] and (take1["part"], take2["part"]) == (1, 2)
    assert take1["next_file"] == files[1].name and take2["previous_file"] == files[0].name
    for path in files:
        assert json.loads(path.with_suffix(".json").read_text())["status"] == "complete"
        assert float(probe(path)["format"]["duration"]) > 0.8

"""The studio's side of recording in the guest's browser, with real aiortc WHIP guests."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from support.guest_server import running_server
from support.whip_client import WhipClient


def test_wanted_state_goes_to_pages_only_and_clients_without_one_leave_no_files(tmp_path: Path) -> None:
    async def scenario():
        async with running_server(tmp_path, record=1000, record_at="both") as server:
            async with WhipClient(server.whip_url("Page"), server.token) as page, \
                    WhipClient(server.whip_url("Plain"), server.token, data_channel=False) as plain:
                await page.publish()
                await plain.publish()
                await page.wait_message(lambda m: m.get("type") == "recording")  # channel open
                # What the guest page says first: its camera, and that it records nothing yet.
                page.channel.send(json.dumps({"type": "guest-recorder", "id": None, "state": "idle",
                                              "captureWidth": 320, "captureHeight": 240}))
                wanted = await page.wait_message(lambda m: m.get("type") == "guest-recording")
                await asyncio.sleep(1)
                statuses = {s["name"]: s for s in server.sessions.guest_statuses()}
                stopped = await server.sessions.stop_recording("Page")
                unwanted = await page.wait_message(
                    lambda m: m.get("type") == "guest-recording" and m["record"] is False)
            return wanted, statuses, stopped, unwanted

    wanted, statuses, stopped, unwanted = asyncio.run(asyncio.wait_for(scenario(), 60))
    # The page is asked to record, with its own upload address and key, beside the studio file.
    assert wanted["record"] is True and wanted["url"] == f"/upload/{wanted['id']}"
    assert len(wanted["key"]) >= 32
    assert wanted["mimeTypes"][0] == "video/webm;codecs=vp8,opus"
    assert wanted["videoBitsPerSecond"] == 1_000_000
    assert wanted["audioBitsPerSecond"] == 32_000
    page_rec = statuses["Page"]["guest_recording"]
    assert statuses["Page"]["recording"] and page_rec["wanted"] and page_rec["state"] == "receiving"
    assert Path(page_rec["file"]).with_name(Path(page_rec["file"]).name.replace(".guest.part", ".webm")) \
        == Path(statuses["Page"]["file"])
    assert statuses["Page"]["guest_recording"]["page"] == {}  # no recorder report yet
    # A client without the page's channel (FFmpeg, OBS) is recorded by the studio only.
    assert statuses["Plain"]["recording"] and statuses["Plain"]["guest_recording"] is None
    assert stopped == ["Page"] and unwanted["id"] == wanted["id"]
    # Nothing was uploaded: at shutdown the empty guest file and its sidecar are gone.
    assert not list(tmp_path.rglob("*.guest.*"))


def test_a_browser_only_recording_keeps_its_session_open_until_its_file_is_closed(tmp_path: Path) -> None:
    """Recorded in the browser only: the session folder opens with the recording and ends
    only once the guest's file is closed, not when the studio stops asking for it."""

    def manifest(server) -> dict:
        return json.loads((server.sessions.session_folder() / "session.json").read_text())

    async def scenario():
        async with running_server(tmp_path, record=1000, record_at="guest") as server:
            server.sessions.uploads.grace_s = 1.0  # a departed page's file closes soon
            async with WhipClient(server.whip_url("Page"), server.token) as page:
                await page.publish()
                await page.wait_message(lambda m: m.get("type") == "recording")
                page.channel.send(json.dumps({"type": "guest-recorder", "id": None, "state": "idle"}))
                wanted = await page.wait_message(lambda m: m.get("type") == "guest-recording")
                recording = server.sessions.open_session_folder(), manifest(server)["ended"]
                await server.sessions.stop_recording("Page")
                await page.wait_message(lambda m: m.get("type") == "guest-recording" and m["record"] is False)
                # The page still holds bytes to send: the file is open, and so is the session.
                stopped = server.sessions.open_session_folder(), manifest(server)["ended"]
                await page.delete()  # the guest leaves; nothing more comes
            for _ in range(100):
                if server.sessions.open_session_folder() is None:
                    break
                await asyncio.sleep(0.1)
            return wanted, recording, stopped, server.sessions.open_session_folder(), manifest(server)

    wanted, recording, stopped, after, final = asyncio.run(asyncio.wait_for(scenario(), 60))
    assert wanted["record"] is True
    assert recording[0] is not None and recording[1] is None
    assert stopped == recording
    assert after is None and final["ended"] is not None

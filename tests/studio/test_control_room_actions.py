"""The control room's return-feed controls and its export, through its HTTP routes, on the
engine as OBS and `serve` run it, with real aiortc guests.

Hold and talkback: two guests with their own tones and a file as the studio's sound; what
each guest receives is decoded and its spectrum read. On hold a guest hears nobody and
nobody hears it; with talkback the studio's sound reaches one guest alone, while the
button is held (renewed) and no longer after the lease runs out.

Export: "Export last session" while a guest records says which file still records; while
an export started elsewhere (OBS's button shares the exporter) runs, a second is refused;
once the session ended, the export is written and its progress was shown.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path

import aiohttp
import pytest

from guestrec.export.background_export import BackgroundExport
from guestrec.server.control_room import TALKBACK_LEASE_S
from guestrec.server.engine import Engine, EngineSettings
from obs_launcher.obs_config import free_port
from support.return_guest import ReturnGuest
from support.synthetic import SolidVideoTrack, ToneAudioTrack
from support.tones import tone_levels, write_tone_wav
from support.whip_client import WhipClient

STUDIO_HZ = 2500.0
TONES = {"Anna": 300.0, "Ben": 700.0}
ALL = [*TONES.values(), STUDIO_HZ]
HEARD_DB = -35.0
SILENT_DB = -80.0
RENEW_S = 1.5  # as the page renews a held talkback


class Operator:
    """The control room's requests, as its page makes them."""

    def __init__(self, engine: Engine, http: aiohttp.ClientSession) -> None:
        self.base, self.http = engine.base_url, http
        self.headers = {"Authorization": f"Bearer {engine.operator_key}"}

    async def post(self, path: str, body: dict | None = None, key: bool = True) -> tuple[int, dict]:
        async with self.http.post(f"{self.base}{path}", json=body or {},
                                  headers=self.headers if key else {}) as resp:
            text = await resp.text()
            return resp.status, json.loads(text) if text.startswith("{") else {"text": text}

    async def get(self, path: str) -> dict | list:
        async with self.http.get(f"{self.base}{path}", headers=self.headers) as resp:
            assert resp.status == 200, await resp.text()
            return await resp.json()

    async def card(self, name: str) -> dict:
        return next(g for g in await self.get("/api/guests") if g["name"] == name)


def guest(engine: Engine, name: str) -> ReturnGuest:
    return ReturnGuest(f"{engine.base_url}/whip/{name}", engine.token,
                       [ToneAudioTrack(frequency=TONES[name]), SolidVideoTrack(160, 120, fps=10)])


async def return_scenario(engine: Engine) -> dict:
    anna, ben = guest(engine, "Anna"), guest(engine, "Ben")
    marks: dict = {}
    try:
        async with aiohttp.ClientSession() as http:
            op = Operator(engine, http)
            for g in (anna, ben):
                await g.publish()
                await g.wait_connected(15)
            await asyncio.sleep(2.0)
            marks["cards_before"] = {n: await op.card(n) for n in TONES}
            marks["refused"] = [await op.post("/api/guests/Nobody/hold", {"on": True}),
                                await op.post("/api/guests/Ben/hold", {"on": True}, key=False),
                                await op.post("/api/guests/Ben/hold", {"on": "yes"})]

            marks["hold"] = time.time()
            marks["hold_answer"] = await op.post("/api/guests/Ben/hold", {"on": True})
            await asyncio.sleep(2.5)
            marks["card_held"] = await op.card("Ben")
            marks["release"] = time.time()
            await op.post("/api/guests/Ben/hold", {"on": False})
            marks["card_released"] = await op.card("Ben")
            await asyncio.sleep(1.0)

            # Talkback held down: renewed as the page does, then let go.
            marks["talk"] = time.time()
            marks["talk_answer"] = await op.post("/api/guests/Anna/talkback", {"on": True})
            marks["card_talking"] = await op.card("Anna")
            for _ in range(2):
                await asyncio.sleep(RENEW_S)
                await op.post("/api/guests/Anna/talkback", {"on": True})
            await asyncio.sleep(RENEW_S)
            marks["let_go"] = time.time()
            await op.post("/api/guests/Anna/talkback", {"on": False})
            marks["card_let_go"] = await op.card("Anna")
            await asyncio.sleep(1.5)

            # Pressed once and never let go (the page went away): the lease ends it.
            marks["lone_press"] = time.time()
            await op.post("/api/guests/Anna/talkback", {"on": True})
            await asyncio.sleep(TALKBACK_LEASE_S + 1.5)
            marks["end"] = time.time()
            marks["card_after_lease"] = await op.card("Anna")
        return {"anna": anna, "ben": ben, **marks}
    finally:
        for g in (anna, ben):
            await g.close()


@pytest.mark.slow
def test_hold_and_talkback_from_the_control_room_change_what_guests_hear(tmp_path: Path) -> None:
    studio_wav = tmp_path / "studio.wav"
    write_tone_wav(studio_wav, STUDIO_HZ, seconds=1.3)
    engine = Engine(EngineSettings(out_dir=tmp_path, port=free_port(), record="-128",
                                   studio_audio=studio_wav, ice_servers="[]"))
    engine.start()
    try:
        got = asyncio.run(asyncio.wait_for(return_scenario(engine), 90))
    finally:
        engine.stop(timeout=20)
    anna, ben = got["anna"], got["ben"]

    def hears(who: ReturnGuest, start: float, end: float) -> dict[float, float]:
        return {hz: round(db, 1) for hz, db in tone_levels(who.audio_between(start, end), ALL).items()}

    before = {n: got["cards_before"][n] for n in TONES}
    assert all(c["held"] is False and c["talkback"] is False for c in before.values()), before
    statuses = [status for status, _ in got["refused"]]
    assert statuses == [404, 401, 400], got["refused"]

    # On hold: Ben hears nothing, Anna still hears the studio but not Ben.
    assert got["hold_answer"] == (200, {"ok": True})
    assert got["card_held"]["held"] is True and got["card_released"]["held"] is False
    held = (got["hold"] + 0.5, got["release"])
    ben_held, anna_held = hears(ben, *held), hears(anna, *held)
    assert max(ben_held.values()) < SILENT_DB, ben_held
    assert anna_held[STUDIO_HZ] > HEARD_DB and anna_held[TONES["Ben"]] < SILENT_DB, anna_held

    # Talkback to Anna: only she hears the studio; Ben still hears Anna.
    assert got["talk_answer"] == (200, {"studio_sound": True})
    assert got["card_talking"]["talkback"] is True and got["card_let_go"]["talkback"] is False
    talking = (got["talk"] + 0.5, got["let_go"])
    anna_talk, ben_talk = hears(anna, *talking), hears(ben, *talking)
    assert anna_talk[STUDIO_HZ] > HEARD_DB and anna_talk[TONES["Ben"]] > HEARD_DB, anna_talk
    assert ben_talk[TONES["Anna"]] > HEARD_DB and ben_talk[STUDIO_HZ] < SILENT_DB, ben_talk
    # Let go: Ben hears the studio again.
    after = hears(ben, got["let_go"] + 0.5, got["lone_press"])
    assert after[STUDIO_HZ] > HEARD_DB, after

    # A press nobody lets go of ends by itself after the lease.
    lone = got["lone_press"]
    during = hears(ben, lone + 0.5, lone + TALKBACK_LEASE_S - 0.3)
    assert during[STUDIO_HZ] < SILENT_DB, during
    lapsed = hears(ben, lone + TALKBACK_LEASE_S + 0.5, got["end"])
    assert lapsed[STUDIO_HZ] > HEARD_DB, lapsed
    assert got["card_after_lease"]["talkback"] is False


async def export_scenario(engine: Engine, shared: BackgroundExport, out: Path) -> dict:
    result: dict = {}
    async with aiohttp.ClientSession() as http:
        op = Operator(engine, http)
        result["idle"] = await op.get("/api/export")
        async with WhipClient(f"{engine.base_url}/whip/Ann", engine.token) as ann:
            await ann.publish()
            await ann.wait_connected()
            for _ in range(100):
                if (await op.card("Ann")).get("recording"):
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(2.0)
            result["while_recording"] = await op.post("/api/export", {"proxies": False})
            result["recording_status"] = await wait_export(op)
            result["ann_file"] = (await op.card("Ann"))["file"]
        folder = next(out.glob("Session *"))
        for _ in range(100):
            if json.loads((folder / "session.json").read_text()).get("ended"):
                break
            await asyncio.sleep(0.1)
        # An export started elsewhere (OBS's button shares the exporter) is running.
        gate = threading.Event()
        shared.start(folder, on_line=lambda line: gate.wait(10))
        result["second"] = await op.post("/api/export", {})
        gate.set()
        await asyncio.get_running_loop().run_in_executor(None, shared.wait, 60)
        result["started"] = await op.post("/api/export", {"proxies": True})
        result["done"] = await wait_export(op)
        result["bad_body"] = await op.post("/api/export", {"proxies": "yes"})
        result["stranger"] = await op.post("/api/export", {}, key=False)
    result["folder"] = folder
    return result


async def wait_export(op: Operator, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = await op.get("/api/export")
        if status["state"] not in ("running", "idle"):
            return status
        await asyncio.sleep(0.2)
    raise TimeoutError("the export did not end")


def test_export_last_session_from_the_control_room(tmp_path: Path) -> None:
    shared = BackgroundExport()
    engine = Engine(EngineSettings(out_dir=tmp_path, port=free_port(), record="500", ice_servers="[]"),
                    exports=shared)
    engine.start()
    try:
        got = asyncio.run(asyncio.wait_for(export_scenario(engine, shared, tmp_path), 120))
    finally:
        engine.stop(timeout=20)
    folder = got["folder"]
    assert got["idle"] == {"state": "idle"}

    # Still recording: which file, and what to do.
    status, job = got["while_recording"]
    assert status == 202 and job["state"] == "running" and job["session"] == folder.name, job
    failed = got["recording_status"]
    ann_file = Path(got["ann_file"]).name
    assert failed["state"] == "failed", failed
    assert failed["error"].startswith(f"the session is still recording ({ann_file}"), failed
    assert "Stop every guest recording" in failed["error"]
    assert failed["lines"][-1] == f"export of {folder.name} failed: {failed['error']}"

    # One at a time, whoever started the running one.
    status, refusal = got["second"]
    assert status == 409 and refusal["error"].startswith(
        f"an export is already running ({folder.name}, started at "), refusal

    status, job = got["started"]
    assert status == 202 and job["proxies"] is True
    done = got["done"]
    assert done["state"] == "done", done
    assert done["export_folder"] == str(folder / "export")
    assert "export: session.otio written" in done["lines"]
    assert any(line.startswith("export: proxy 1/1 ") for line in done["lines"]), done["lines"]
    assert done["lines"][-1].startswith(f"export of {folder.name} done: ")
    for name in ("session.otio", "session.xml", "README.txt", "stems/Ann.wav"):
        assert (folder / "export" / name).is_file(), name
    assert len(list((folder / "export" / "proxies").glob("*.mov"))) == 1
    assert got["bad_body"][0] == 400 and got["stranger"][0] == 401

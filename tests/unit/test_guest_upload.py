"""The studio's upload endpoint for recordings made in the guest's browser, over real HTTP.

A real WebM stream (VP8 + Opus, made with PyAV) is cut into the byte slices a browser's
MediaRecorder sends, uploaded, and the finalized file checked with ffprobe. Every bad
upload gets a 4xx and leaves the file as it was.
"""

from __future__ import annotations

import asyncio
import fractions
import json
import subprocess
from pathlib import Path

import av
import numpy as np
import pytest

from guestrec.common.plan import make_plan
from guestrec.uploads.guest_plan import guest_recording
from guestrec.uploads.guest_uploads import GuestUploads
from support.media_probe import ffprobe_decode_errors, probe, streams_of
from support.upload_client import finish, put, upload_server


def webm_bytes(path: Path, seconds: float = 3.0) -> bytes:
    """A small VP8 + Opus WebM, as a browser would record it."""
    with av.open(str(path), "w", format="webm") as out:
        video = out.add_stream("libvpx", rate=30)
        video.width, video.height, video.pix_fmt = 320, 240, "yuv420p"
        video.bit_rate = 500_000
        audio = out.add_stream("libopus", rate=48000)
        audio.layout = "stereo"
        for i in range(int(seconds * 30)):
            frame = av.VideoFrame.from_ndarray(
                np.full((240, 320, 3), (i * 8) % 256, np.uint8), format="rgb24")
            frame.pts, frame.time_base = i, fractions.Fraction(1, 30)
            out.mux(video.encode(frame))
        for i in range(int(seconds * 50)):
            tone = np.sin(np.arange(960) * 2 * np.pi * 440 / 48000 + i * 960).astype(np.float32)
            frame = av.AudioFrame.from_ndarray(np.stack([tone, tone]), format="fltp", layout="stereo")
            frame.sample_rate, frame.pts = 48000, i * 960
            out.mux(audio.encode(frame))
        out.mux(video.encode(None))
        out.mux(audio.encode(None))
    return path.read_bytes()


def pieces(data: bytes, size: int) -> list[tuple[int, bytes]]:
    return [(i, data[i:i + size]) for i in range(0, len(data), size)]


def test_upload_in_pieces_finalizes_a_playable_file(tmp_path: Path) -> None:
    data = webm_bytes(tmp_path / "source.webm")
    uploads = GuestUploads()

    async def scenario():
        async with upload_server(uploads) as http:
            upload = uploads.create("Ann", guest_recording(make_plan(2000)), tmp_path / "Ann_1")
            acks = [await put(http, upload, off, piece) for off, piece in pieces(data, 7000)]
            # A piece sent again (its acknowledgement lost) is acknowledged, not appended.
            again = await put(http, upload, 7000, data[7000:14000])
            async with http.get(f"/upload/{upload.upload_id}",
                                headers={"Authorization": f"Bearer {upload.key}"}) as r:
                state = await r.json()
            done = await finish(http, upload, len(data), mimeType="video/webm;codecs=vp8,opus")
            repeat = await finish(http, upload, len(data))
            return upload, acks, again, state, done, repeat

    _upload, acks, again, state, done, repeat = asyncio.run(scenario())
    assert [a[0] for a in acks] == [200] * len(acks) and acks[-1][1]["size"] == len(data)
    assert again == (200, {"size": len(data)})
    assert state == {"size": len(data), "state": "receiving"}
    assert done[0] == 200 and done[1]["state"] == "complete" and repeat[0] == 200
    final = tmp_path / "Ann_1.guest.webm"
    assert done[1]["file"] == final.name and final.exists()
    assert not (tmp_path / "Ann_1.guest.part").exists()
    info = probe(final)
    assert streams_of(info, "video")[0]["codec_name"] == "vp8"
    assert streams_of(info, "audio")[0]["codec_name"] == "opus"
    assert abs(float(info["format"]["duration"]) - 3.0) < 0.2
    assert ffprobe_decode_errors(final) == ""
    side = json.loads((tmp_path / "Ann_1.guest.json").read_text())
    assert side["complete"] and side["bytes_received"] == len(data)
    assert side["mime_type"] == "video/webm;codecs=vp8,opus" and side["codecs"]["video"] == "vp8"


def test_bad_uploads_are_refused_and_change_nothing(tmp_path: Path) -> None:
    data = webm_bytes(tmp_path / "source.webm", seconds=1.0)
    uploads = GuestUploads()
    plan = guest_recording(make_plan(2000))

    async def scenario():
        async with upload_server(uploads) as http:
            ann = uploads.create("Ann", plan, tmp_path / "Ann_1")
            bob = uploads.create("Bob", plan, tmp_path / "Bob_1")
            assert (await put(http, ann, 0, data[:5000]))[0] == 200
            results = {
                "no key": await put(http, ann, 5000, data[5000:6000], key=False),
                "wrong key": await put(http, ann, 5000, data[5000:6000], key="x" * 32),
                "another guest's key": await put(http, ann, 5000, data[5000:6000], key=bob.key),
                "gap": await put(http, ann, 6000, data[6000:7000]),
                "overlap with other bytes": await put(http, ann, 4000, b"\0" * 2000),
                "no offset": await put(http, ann, "", data[5000:6000]),
                "negative offset": await put(http, ann, -1, data[:10]),
                "too large a piece": await put(http, ann, 5000, b"\0" * (9 * 1024 * 1024)),
                "finish at the wrong size": await finish(http, ann, len(data)),
                "finish with another's key": await finish(http, ann, 5000, key=bob.key),
            }
            async with http.put("/upload/nosuchid?offset=0", data=b"x",
                                headers={"Authorization": f"Bearer {ann.key}"}) as r:
                results["unknown recording"] = (r.status, await r.json())
            held_before_finish = ann.part.read_bytes()
            assert (await finish(http, ann, 5000))[0] == 200
            results["after finish"] = await put(http, ann, 5000, data[5000:6000])
            return results, held_before_finish, bob

    results, held, bob = asyncio.run(scenario())
    expected = {
        "no key": 403, "wrong key": 403, "another guest's key": 403, "gap": 409,
        "overlap with other bytes": 409, "no offset": 400, "negative offset": 400,
        "too large a piece": 413, "unknown recording": 404, "finish at the wrong size": 409,
        "finish with another's key": 403, "after finish": 410,
    }
    assert {k: v[0] for k, v in results.items()} == expected, results
    assert results["gap"][1]["size"] == 5000 and "gap" in results["gap"][1]["error"]
    assert held == data[:5000]  # nothing written by any refused request
    assert (tmp_path / "Ann_1.guest.webm").exists()  # finalized from the 5000 good bytes
    # Bob's recording was untouched; at shutdown, with nothing received, it leaves no files.
    assert bob.size == 0 and bob.state == "empty" and not list(tmp_path.glob("Bob_1*"))


def test_size_is_bounded_by_the_bitrate(tmp_path: Path) -> None:
    uploads = GuestUploads()

    async def scenario():
        async with upload_server(uploads) as http:
            # -6: Opus at 6 kbps, audio only: 2 x 6 kbps x 10 s + 4 MiB is all it may send now.
            small = uploads.create("Tiny", guest_recording(make_plan(-6)), tmp_path / "Tiny_1")
            budget = small.budget_bytes()
            first = await put(http, small, 0, b"\x1a" * (4 * 1024 * 1024))
            over = await put(http, small, 4 * 1024 * 1024, b"\x1a" * (budget - 4 * 1024 * 1024 + 1000))
            return budget, first, over, small.size

    budget, first, over, size = asyncio.run(scenario())
    assert 4 * 1024 * 1024 < budget < 4 * 1024 * 1024 + 20_000
    assert first[0] == 200 and over[0] == 413 and "kbps" in over[1]["error"]
    assert size == 4 * 1024 * 1024


def test_vanished_guest_is_finalized_as_far_as_it_got(tmp_path: Path) -> None:
    data = webm_bytes(tmp_path / "source.webm", seconds=2.0)
    uploads = GuestUploads(grace_s=0.6)

    async def scenario():
        async with upload_server(uploads) as http:
            upload = uploads.create("Gone", guest_recording(make_plan(2000)), tmp_path / "Gone_1")
            half = len(data) // 2
            await put(http, upload, 0, data[:half])
            uploads.guest_left("Gone")
            for _ in range(50):
                if upload.state not in ("receiving", "finalizing"):
                    break
                await asyncio.sleep(0.1)
            return upload

    upload = asyncio.run(scenario())
    assert upload.state == "incomplete" and "guest left" in upload.reason
    side = json.loads((tmp_path / "Gone_1.guest.json").read_text())
    assert side["complete"] is False and "guest left" in side["reason"]
    info = probe(tmp_path / "Gone_1.guest.webm")
    assert 0.3 < float(info["format"]["duration"]) < 2.0


@pytest.fixture
def small_disk(tmp_path: Path):
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount_point)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a 1 MB tmpfs to fill up: {done.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], capture_output=True)


def test_full_disk_refuses_the_piece_and_keeps_what_was_held(tmp_path: Path, small_disk: Path) -> None:
    data = webm_bytes(tmp_path / "source.webm", seconds=1.0)
    uploads = GuestUploads()

    async def scenario():
        async with upload_server(uploads) as http:
            full = uploads.create("Full", guest_recording(make_plan(6000)), small_disk / "Full_1")
            fine = uploads.create("Fine", guest_recording(make_plan(6000)), tmp_path / "Fine_1")
            first = await put(http, full, 0, data)
            refused = await put(http, full, len(data), b"\x1a" * (2 * 1024 * 1024))
            other = await put(http, fine, 0, data)
            return full, first, refused, other

    full, first, refused, other = asyncio.run(scenario())
    assert first[0] == 200 and other[0] == 200
    assert refused[0] == 507 and "disk is full" in refused[1]["error"] and refused[1]["size"] == len(data)
    assert full.error and "disk is full" in full.error
    # At shutdown it was finalized as far as it got: the bytes held before the disk filled.
    assert full.state == "incomplete", (full.state, full.error)
    assert float(probe(small_disk / "Full_1.guest.webm")["format"]["duration"]) > 0.5


def test_studio_restart_takes_unfinished_uploads_back(tmp_path: Path) -> None:
    data = webm_bytes(tmp_path / "source.webm", seconds=1.0)
    half = len(data) // 2

    async def before_crash():
        uploads = GuestUploads()
        async with upload_server(uploads) as http:
            upload = uploads.create("Kim", guest_recording(make_plan(2000)), tmp_path / "Kim_1")
            assert (await put(http, upload, 0, data[:half]))[0] == 200
            # A crash: nothing finalized, the registry gone with the process.
            uploads._uploads.clear()
        return upload.upload_id, upload.key

    async def after_restart(upload_id: str, key: str):
        uploads = GuestUploads()
        (upload,) = uploads.recover(tmp_path)
        async with upload_server(uploads) as http:
            wrong = await put(http, upload, half, data[half:], key="not-the-key")
            async with http.get(f"/upload/{upload_id}", headers={"Authorization": f"Bearer {key}"}) as r:
                resume = await r.json()
            rest = await put(http, upload, half, data[half:], key=key)
            done = await finish(http, upload, len(data), key=key)
        return upload, wrong, resume, rest, done

    upload_id, key = asyncio.run(before_crash())
    upload, wrong, resume, rest, done = asyncio.run(after_restart(upload_id, key))
    assert upload.upload_id == upload_id and upload.guest == "Kim"
    assert wrong[0] == 403 and resume == {"size": half, "state": "receiving"}
    assert rest == (200, {"size": len(data)}) and done[0] == 200 and done[1]["state"] == "complete"
    side = json.loads((tmp_path / "Kim_1.guest.json").read_text())
    assert "key" not in json.dumps(side).replace("key_sha256", "")  # only the key's hash on disk
    assert side["complete"] and side["bytes_received"] == len(data)

"""A studio recording and a guest upload, with the POSIX-only calls gone as on Windows.

os.pwrite, os.pread, os.fork, os.setsid, os.killpg and the RTLD_* flags are removed from
`os`, and `os.O_BINARY` exists: every `os.open` made for these files must pass it (Windows
opens a file in text mode otherwise). The media are checked with ffprobe, the sidecars
read back.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest
from test_guest_upload import finish, pieces, put, upload_server, webm_bytes

from guestrec.common.plan import make_plan
from guestrec.uploads.guest_plan import guest_recording
from guestrec.uploads.guest_uploads import GuestUploads
from support.guest_server import running_server
from support.media_probe import ffprobe_decode_errors, probe, streams_of
from support.whip_client import WhipClient

# A flag bit no OS uses, standing in for O_BINARY; taken off again before the real os.open.
BINARY_MARK = 1 << 30
POSIX_ONLY = ("pwrite", "pread", "pwritev", "preadv", "fork", "forkpty", "setsid", "killpg",
              "RTLD_DEEPBIND", "RTLD_NOW", "RTLD_GLOBAL", "RTLD_LOCAL", "RTLD_LAZY")


@pytest.fixture
def windows_like_os(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[str]:
    """Returns the files under tmp_path opened through os.open without O_BINARY."""
    for name in POSIX_ONLY:
        if hasattr(os, name):
            monkeypatch.delattr(os, name)
    monkeypatch.setattr(os, "O_BINARY", BINARY_MARK, raising=False)
    real_open = os.open
    text_mode: list[str] = []

    def open_as_on_windows(path, flags, mode=0o777, *, dir_fd=None):
        if not flags & BINARY_MARK and str(tmp_path) in os.fspath(path):
            text_mode.append(os.fspath(path))
        return real_open(path, flags & ~BINARY_MARK, mode, dir_fd=dir_fd)

    monkeypatch.setattr(os, "open", open_as_on_windows)
    return text_mode


def _sidecar(media: Path) -> tuple[dict, str]:
    text = media.with_suffix(".json").read_text(encoding="utf-8")
    return json.loads(text), text


def test_studio_recording_without_posix_calls(tmp_path: Path, windows_like_os: list[str]) -> None:
    assert not hasattr(os, "pwrite") and not hasattr(os, "fork")

    async def scenario() -> dict:
        async with running_server(tmp_path / "rec", record=1500) as server:
            guest = WhipClient(server.whip_url("Wanda"), server.token)
            await guest.publish()
            await guest.wait_connected()
            await guest.wait_message(lambda m: m.get("type") == "recording" and m["recording"])
            await asyncio.sleep(3)
            (status,) = server.sessions.guest_statuses()
            await guest.close()
            await server.sessions.close_all()
            return status

    status = asyncio.run(asyncio.wait_for(scenario(), 60))
    media = Path(status["file"])
    info = probe(media)
    assert streams_of(info, "video")[0]["codec_name"] == "vp8"
    assert streams_of(info, "audio")[0]["codec_name"] == "opus"
    assert 2.0 < float(info["format"]["duration"]) < 6.0
    assert ffprobe_decode_errors(media) == ""
    side, text = _sidecar(media)
    # The final write dropped the reserved padding: the JSON and one newline, nothing else.
    assert text.endswith("}\n") and not text.endswith(" }\n") and len(text) < 16 * 1024
    assert side["file"] == media.name, side
    assert windows_like_os == [], windows_like_os


def test_guest_upload_without_posix_calls(tmp_path: Path, windows_like_os: list[str]) -> None:
    data = webm_bytes(tmp_path / "source.webm")  # the browser-like WebM of the upload tests
    uploads = GuestUploads()

    async def scenario():
        async with upload_server(uploads) as http:
            upload = uploads.create("Wes", guest_recording(make_plan(2000)), tmp_path / "Wes_1")
            acks = [await put(http, upload, offset, piece) for offset, piece in pieces(data, 5000)]
            again = await put(http, upload, 5000, data[5000:10000])  # a repeat is checked, not added
            done = await finish(http, upload, len(data), mimeType="video/webm;codecs=vp8,opus")
            return acks, again, done

    acks, again, done = asyncio.run(asyncio.wait_for(scenario(), 60))
    assert {status for status, _ in acks} == {200} and acks[-1][1]["size"] == len(data)
    assert again == (200, {"size": len(data)})
    assert done[0] == 200 and done[1]["state"] == "complete", done
    final = tmp_path / "Wes_1.guest.webm"
    assert final.exists() and not (tmp_path / "Wes_1.guest.part").exists()
    info = probe(final)
    assert streams_of(info, "video")[0]["codec_name"] == "vp8"
    assert abs(float(info["format"]["duration"]) - 3.0) < 0.2
    assert ffprobe_decode_errors(final) == ""
    side, text = _sidecar(final.with_name("Wes_1.guest.webm"))
    assert side["complete"] and side["bytes_received"] == len(data) and text.endswith("}\n")
    assert windows_like_os == [], windows_like_os

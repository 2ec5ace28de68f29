"""FFmpeg's own WHIP muxer (through PyAV) publishes H.264 + Opus and is recorded.

FFmpeg runs in a child process (tests/support/ffmpeg_whip.py): PyAV keeps the GIL while
the muxer blocks on the network.
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import time
from pathlib import Path

import pytest

from guestrec.ingest.whip import FFMPEG_DTLS_HINT
from guestrec.server import certificates as certs
from support.guest_server import running_server
from support.media_probe import probe

TESTS = Path(__file__).resolve().parents[1]


async def publish(url: str, token: str, seconds: float, cert: Path | None, key: Path | None):
    args = [sys.executable, "-m", "support.ffmpeg_whip", url, f"--token={token}", "--seconds", str(seconds)]
    if cert and key:
        args += ["--cert", str(cert), "--key", str(key)]
    process = await asyncio.create_subprocess_exec(
        *args, cwd=TESTS, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    _out, err = await asyncio.wait_for(process.communicate(), seconds + 30)
    return process.returncode, err.decode(errors="replace")


def test_ffmpeg_publishes_and_is_recorded(tmp_path: Path) -> None:
    cert, key = certs.ensure_dtls_identity(tmp_path / "dtls")
    seen: list[dict] = []

    async def scenario():
        async with running_server(tmp_path / "rec", record=1500) as server:
            url = server.whip_url("FFmpeg Guest")
            task = asyncio.ensure_future(publish(url, server.token, 4.0, cert, key))
            while not task.done():
                for status in server.sessions.guest_statuses():
                    if status["connected"]:
                        seen.append(status)
                await asyncio.sleep(0.2)
            code, err = await task
            assert code == 0, err
            # FFmpeg DELETEs its session when it closes: nothing is left.
            assert server.sessions.guest_statuses() == []

    asyncio.run(asyncio.wait_for(scenario(), 90))
    assert seen, "the FFmpeg guest never connected"
    assert seen[-1]["client"] == "ffmpeg" and seen[-1]["name"] == "FFmpeg Guest"
    assert sorted(seen[-1]["media"]) == ["audio", "video"]
    assert any(s["recording"] for s in seen), seen[-1]
    files = sorted((tmp_path / "rec").glob("Session */FFmpeg_Guest *.*"))
    media = [f for f in files if f.suffix in (".webm", ".mkv", ".mka")]
    assert len(media) == 1, files
    info = probe(media[0])
    kinds = {s["codec_type"]: s["codec_name"] for s in info["streams"]}
    assert kinds.get("audio") == "opus" and "video" in kinds, kinds
    assert float(info["format"]["duration"]) > 2.0


@pytest.mark.slow
def test_ffmpeg_publishes_for_40_s_on_one_connection(tmp_path: Path) -> None:
    """FFmpeg's muxer stops answering ICE consent checks once connected; its media keep it
    connected (webrtc/media_liveness.py). It was cut ~5 s after connecting before that."""
    # Longer than every consent timeout that could cut it: the studio's (core/liveness.py:
    # 1 s checks, 4 misses, ~5 s) and aioice's own pace should that setting not hold (5 s
    # checks, 6 misses, ~30 s), with 10 s to spare; also past web_guard's 10 s idle limit.
    seconds = 40.0
    cert, key = certs.ensure_dtls_identity(tmp_path / "dtls")
    samples: list[tuple[float, bool, float]] = []  # (time, connected, the guest's `since`)

    async def scenario():
        async with running_server(tmp_path / "rec", record=1500) as server:
            start = time.monotonic()
            url = server.whip_url("Long FFmpeg")
            task = asyncio.ensure_future(publish(url, server.token, seconds, cert, key))
            while not task.done():
                for status in server.sessions.guest_statuses():
                    samples.append((time.monotonic() - start, status["connected"], status["since"]))
                await asyncio.sleep(0.5)
            return await task

    code, err = asyncio.run(asyncio.wait_for(scenario(), seconds + 60))
    assert code == 0, err  # the whole stream went out and FFmpeg DELETEd its session
    assert len({since for _, _, since in samples}) == 1, "FFmpeg joined more than once"
    connected = [t for t, up, _ in samples if up]
    assert connected, "the FFmpeg guest never connected"
    # Once connected, connected at every look until FFmpeg left (its DELETE ends it).
    after = [up for t, up, _ in samples if t >= connected[0]]
    assert all(after[:-1]), [(round(t, 1), up) for t, up, _ in samples if not up]
    assert connected[-1] - connected[0] > seconds - 5, (connected[0], connected[-1])
    files = sorted((tmp_path / "rec").glob("Session */Long_FFmpeg *.*"))
    media = [f for f in files if f.suffix in (".webm", ".mkv", ".mka")]
    assert len(media) == 1, files
    duration = float(probe(media[0])["format"]["duration"])
    up_for = connected[-1] - connected[0]
    print(f"FFmpeg published {seconds:.0f} s; connected {up_for:.1f} s; file {duration:.1f} s")
    assert seconds - 4 < duration < seconds + 2, duration


def test_without_a_p256_identity_the_reason_is_named(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """FFmpeg's default (GnuTLS, P-224) DTLS identity fails, and the log says why.

    If a later FFmpeg or OpenSSL makes this pass the handshake, this test fails: then the
    cert_file/key_file workaround is no longer needed.
    """
    caplog.set_level(logging.WARNING, logger="guestrec.core")

    async def scenario():
        async with running_server(tmp_path / "rec") as server:
            code, err = await publish(server.whip_url("Plain FFmpeg"), server.token, 1.0, None, None)
            for _ in range(50):
                if not server.sessions.guest_statuses():
                    break
                await asyncio.sleep(0.1)
            return code, err

    code, err = asyncio.run(asyncio.wait_for(scenario(), 60))
    assert code != 0, err
    messages = [r.getMessage() for r in caplog.records]
    assert any(FFMPEG_DTLS_HINT in m for m in messages), messages

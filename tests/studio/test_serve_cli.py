"""The headless server as a user runs it: `python -m guestrec serve`, three guests at once,
Ctrl-C while they are still connected. Every file is finalized and holds only its guest."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import av
import numpy as np

from obs_launcher.obs_config import free_port
from support.media_probe import probe
from support.serve_process import ROOT, ServeProcess
from support.synthetic import SolidVideoTrack, ToneAudioTrack
from support.whip_client import WhipClient

GUESTS = {  # name -> (tone Hz, Y, U, V)
    "Red": (300.0, (81, 90, 240)),
    "Green": (700.0, (145, 54, 34)),
    "Blue": (1500.0, (41, 240, 110)),
}


def dominant_hz(path: Path) -> float:
    with av.open(str(path)) as container:
        samples = np.concatenate([
            frame.to_ndarray().astype(np.float64)[0] for frame in container.decode(audio=0)
        ])
    spectrum = np.abs(np.fft.rfft(samples[48000:48000 * 3]))
    return float(np.argmax(spectrum) * 48000 / (2 * 48000))


def mean_yuv(path: Path) -> tuple[float, float, float]:
    with av.open(str(path)) as container:
        frames = list(itertools.islice(container.decode(video=0), 40))
    planes = frames[-1].to_ndarray(format="yuv420p")
    h = frames[-1].height
    y = planes[:h].mean()
    chroma = planes[h:].reshape(-1)
    u, v = chroma[: chroma.size // 2].mean(), chroma[chroma.size // 2:].mean()
    return float(y), float(u), float(v)


async def three_guests(server: ServeProcess) -> str:
    clients = []
    for name, (hz, yuv) in GUESTS.items():
        tracks = [ToneAudioTrack(frequency=hz), SolidVideoTrack(width=320, height=240, fps=15, color=yuv)]
        client = WhipClient(f"{server.base}/whip/{name}", token=server.token, tracks=tracks,
                            data_channel=False)
        await client.publish()
        clients.append(client)
    await asyncio.gather(*(c.wait_connected() for c in clients))
    await asyncio.sleep(5)
    # Ctrl-C with every guest still connected: the server must finalize all three files.
    output = await asyncio.get_running_loop().run_in_executor(None, server.stop)
    for client in clients:
        client.location = None  # the server is gone; nothing to DELETE
        await client.close()
    return output


def test_three_guests_and_ctrl_c_finalize_every_file(tmp_path: Path) -> None:
    server = ServeProcess(tmp_path, "--record", "2000", "--token", "s3cret-s3cret-s3cret")
    try:
        assert server.token == "s3cret-s3cret-s3cret"
        output = asyncio.run(three_guests(server))
    finally:
        if server.proc.poll() is None:
            server.proc.kill()
    assert server.proc.returncode == 0, output
    assert "Stopped." in output
    for name, (hz, yuv) in GUESTS.items():
        files = list(tmp_path.glob(f"Session */{name} *.webm"))
        assert len(files) == 1, (name, sorted(p.name for p in tmp_path.iterdir()))
        duration = float(probe(files[0])["format"]["duration"])  # set only once finalized
        assert 3.5 < duration < 8, duration
        assert abs(dominant_hz(files[0]) - hz) < 10, (name, dominant_hz(files[0]))
        y, u, v = mean_yuv(files[0])
        assert abs(y - yuv[0]) < 12 and abs(u - yuv[1]) < 12 and abs(v - yuv[2]) < 12, (name, y, u, v)
        sidecar_text = files[0].with_suffix(".json").read_text()
        assert sidecar_text.endswith("}\n")  # the final write drops the reserved padding
        sidecar = json.loads(sidecar_text)
        assert sidecar["guest"] == name and sidecar["status"] == "complete"


def test_bad_record_value_exits_with_a_clear_error(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "lib"))
    done = subprocess.run(
        [sys.executable, "-m", "guestrec", "serve", "--port", str(free_port()), "--out", str(tmp_path),
         "--record", "loud"], capture_output=True, text=True, env=env, timeout=30)
    assert done.returncode == 2
    assert "record value must be an integer" in done.stderr

"""The guest-side recording benchmark (tests/bench/bench_guest_recorder.py) at its smallest
size: Chromium's fake camera for a few seconds with and without the page's recorder, and a
couple of MB through the upload endpoint. It must still measure something real."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.bench_runs import BenchRun
from support.cdp import CHROMIUM

pytestmark = [pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium")]


def test_guest_recorder_benchmark_measures_the_browser_and_the_upload_endpoint() -> None:
    # A second to settle is enough for figures above zero, which is all this run asks of them.
    run = BenchRun("bench_guest_recorder", "--seconds", "3", "--codecs", "none,vp8", "--upload-mb", "2",
                   "--ramp-up", "1")
    result = run.result(timeout=240)
    print(f"$ {run.command}\n{run.output}")
    live_only, recording = result["guest"]
    assert live_only["codec"] == "none" and recording["codec"] == "vp8", result
    for row in (live_only, recording):
        assert row["cpu"] > 0 and row["live_kbps"] > 0 and row["live_fps"], row
    assert recording["recorder_kbps"] > 0 and "vp8" in recording["mime"], recording
    upload = result["upload"]
    # A couple of MB can take only a clock tick or two here: CPU may read 0, time may not.
    assert upload["mb"] >= 1.5 and upload["cpu"] >= 0 and upload["seconds"] > 0, upload

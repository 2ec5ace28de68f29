"""The studio's load gauge (server/machine_load.py) on a real loop: idle, then kept busy."""

from __future__ import annotations

import asyncio
import time

from guestrec.server.machine_load import LoopLoad, load_text


def run_loop(busy_share: float, seconds: float) -> LoopLoad:
    """A loop whose callbacks burn `busy_share` of each 100 ms for `seconds`."""
    async def main() -> LoopLoad:
        gauge = LoopLoad()
        gauge.start()
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            burn_until = time.monotonic() + 0.1 * busy_share
            while time.monotonic() < burn_until:
                pass
            await asyncio.sleep(0.1 * (1 - busy_share))
        gauge.stop()
        return gauge

    return asyncio.run(main())


def test_an_idle_loop_has_room_and_a_busy_one_is_full() -> None:
    idle = run_loop(0.05, 3.0).report(guests=2)
    assert idle["busy"] < 0.4 and not idle["full"]
    assert idle["room_for"] is None or idle["room_for"] >= 1
    busy = run_loop(1.0, 3.0).report(guests=8)
    print(idle, busy)
    assert busy["full"] and busy["room_for"] == 0
    assert "Machine full" in load_text(busy) and "sfu-record" in load_text(busy)


def test_room_left_is_estimated_from_the_cost_per_guest() -> None:
    gauge = LoopLoad()
    gauge.busy, gauge.late_s = 0.4, 0.0
    report = gauge.report(guests=4)  # 10% a guest: 4 more fit under 80%
    assert report == {"busy": 0.4, "late_ms": 0, "guests": 4, "full": False, "room_for": 4}
    assert load_text(report) == "Machine: 40% busy, room for about 4 more guests"
    assert gauge.report(guests=0)["room_for"] is None
    assert load_text(None) == ""

"""The reconnect benchmark (tests/bench/bench_reconnect.py) at its smallest size: one run
(its outage stays 10 s: the studio needs most of that to notice a dead guest by itself). It
must still measure something real: each time it reports, and the take's parts holding the
frames sent outside the outage."""

from __future__ import annotations

import pytest

from support.bench_runs import BenchRun
from support.link_rig import LinkRig

pytestmark = [pytest.mark.skipif(LinkRig.available() is not None, reason=str(LinkRig.available()))]


def test_reconnect_benchmark_times_the_drop_and_the_return() -> None:
    run = BenchRun("bench_reconnect", "--runs", "1", "--outage", "10")
    (row,) = run.result(timeout=240)
    print(f"$ {run.command}\n{run.output}")
    for column in ("connect_s", "studio_noticed_s", "guest_noticed_s", "back_after_unblock_s"):
        assert row[column] > 0, (column, row)
    assert row["attempts"] >= 1, row  # came back by itself
    assert row["frames_outside"] > 100 and row["found_outside"] >= 0.99 * row["frames_outside"], row

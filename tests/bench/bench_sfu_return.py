"""The return feed through the Janus SFU: what it costs the studio and Janus, and how much
delay Janus's AudioBridge adds between guests.

Per run, Debian's Janus starts in a network namespace (tests/support/janus_rig.py), then
`guestrec serve --sfu` (copy recording, its own process), then the guests in two processes
of their own (tests/support/sfu_return_swarm.py: guests 2 and up, then the beeping and the
listening guest with a direct pair), so the CPU read from /proc for the studio and for
Janus is theirs alone. Guests send 320x180 at 15 fps and a tone. For each guest count,
three setups:

    off         the studio sends no return (--return-audio off --return-video off);
                guests only publish
    audio       return audio only (--return-video off): each guest also opens its sound
                connection into the AudioBridge; the studio plays a quiet tone there
    audio+grid  and the grid (--return-video grid): each guest also subscribes to it

Printed per run: the studio's and Janus's CPU (% of one core; whole processes), the
guests' processes' CPU, mouth-to-ear delay from the beeping guest to a listening one
through the AudioBridge beside two peers connected directly in the same process (Janus's
share is the difference), how soon each guest heard sound after opening its sound
connection, and how far below the other voices its own voice is in what it hears (and
against a pitch nobody sends: Opus's noise, the floor of that measure). Root (network
namespace) and Debian's janus.

    .venv/bin/python tests/bench/bench_sfu_return.py                  # 1, 4, 8 guests
    .venv/bin/python tests/bench/bench_sfu_return.py --guests 2 --seconds 5 --configs audio
    .venv/bin/python tests/bench/bench_sfu_return.py --guests 4 --configs audio --prebuffering 2
    .venv/bin/python tests/bench/bench_sfu_return.py --smallest       # one short run

The last line is `RESULT {json}` with every figure, for scripts.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "lib")]

from support.janus_rig import JanusRig, janus_missing_reason  # noqa: E402
from support.serve_process import ServeProcess  # noqa: E402
from support.sfu_return_swarm import STUDIO_HZ  # noqa: E402
from support.tones import write_tone_wav  # noqa: E402

SWARM = ROOT / "tests" / "support" / "sfu_return_swarm.py"
CONFIGS = {  # the studio's options, the guests' lines
    "off": (["--return-audio", "off", "--return-video", "off"], "none"),
    "audio": (["--return-video", "off"], "audio"),
    "audio+grid": (["--return-video", "grid"], "audio+grid"),
}
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of every thread of the process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


class GuestProcess:
    """One process of guests (tests/support/sfu_return_swarm.py), its errors into `log`;
    `on_mark` sees each MEASURE line as it comes."""

    def __init__(self, args: list[str], log: Path, on_mark: Callable[[str], None] | None = None) -> None:
        self.log, self.on_mark = log, on_mark
        self.lines: list[str] = []
        self.ready = threading.Event()
        with open(log, "wb") as errors:  # a file: never a full pipe that stops the guests
            self.proc = subprocess.Popen([sys.executable, str(SWARM), *args], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=errors, text=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("MEASURE ") and self.on_mark is not None:
                self.on_mark(line.split()[1])
            elif line.startswith("READY"):
                self.ready.set()
            self.lines.append(line)

    def failure(self, what: str) -> RuntimeError:
        tail = self.log.read_text(errors="replace")[-3000:]
        return RuntimeError(f"{what} (guests' process exit {self.proc.poll()}):\n{tail}")

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def result(self, timeout: float) -> dict:
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop()
        self._reader.join(timeout=10)
        for line in self.lines:
            if line.startswith("RESULT "):
                return json.loads(line[len("RESULT "):])
        raise self.failure("no result from the guests")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


def run_guests(common: list[str], guests: int, seconds: float, pids: dict[str, int],
               work: Path) -> tuple[dict, dict]:
    """Guests 2 and up first (their lines open), then guests 0 and 1, which measure. CPU of
    every process in `pids` and of both guests' processes is read at the MEASURE lines.
    Returns (what the guests measured, {process: % of one core} and the span)."""
    limit = guests * 20 + seconds + 90
    every = dict(pids)
    marks: dict[str, tuple[float, dict[str, float]]] = {}
    crowd = measuring = None

    def mark(word: str) -> None:
        marks[word] = (time.monotonic(), {k: cpu_seconds(p) for k, p in every.items()})

    try:
        if guests > 2:
            crowd = GuestProcess([*common, "--crowd"], work / "crowd.log")
            if not crowd.ready.wait(limit):
                raise crowd.failure("the crowd's lines did not open")
            every["crowd"] = crowd.proc.pid
        measuring = GuestProcess([*common, "--seconds", str(seconds)], work / "guests.log", mark)
        every["guests"] = measuring.proc.pid  # long before the first mark
        result = measuring.result(limit)
        if crowd is not None:
            crowd.send("WINDOW {} {}".format(*result.pop("window")))
            more = crowd.result(60)
            if "own_voice" in more:  # the crowd opened lines too
                for key in ("sound_start_s", "own_voice"):
                    result[key] += more[key]
                sizes = result["grid_sizes"] + more["grid_sizes"]
                result["grid_sizes"] = [list(s) for s in sorted({tuple(s) for s in sizes})]
    finally:
        for proc in (crowd, measuring):
            if proc is not None:
                proc.stop()
    if set(marks) != {"START", "END"}:
        raise RuntimeError(f"the guests never measured: {marks.keys()}")
    (wall0, cpu0), (wall1, cpu1) = marks["START"], marks["END"]
    span = wall1 - wall0
    cpu = {name: round((cpu1[name] - cpu0[name]) / span * 100, 1) for name in every}
    cpu["guests"] = round(cpu["guests"] + cpu.pop("crowd", 0.0), 1)
    return result, cpu | {"span": span}


class BenchRig(JanusRig):
    """The Janus of install/janus.sh; `prebuffering`: the AudioBridge room's
    default_prebuffering (packets of 20 ms each participant's sound waits before it is
    mixed) instead of the script's."""

    def __init__(self, work: Path, prebuffering: int | None) -> None:
        super().__init__(work)
        self.prebuffering = prebuffering

    def _configure(self) -> None:
        super()._configure()
        if self.prebuffering is not None:
            path = self.config_dir / "janus.plugin.audiobridge.jcfg"
            text, count = re.subn(r"default_prebuffering = \d+",
                                  f"default_prebuffering = {self.prebuffering}", path.read_text())
            assert count == 1, f"no default_prebuffering in {path}"
            path.write_text(text)


def measure(guests: int, config: str, seconds: float, keep: bool = False,
            prebuffering: int | None = None) -> dict:
    options, lines = CONFIGS[config]
    load = os.getloadavg()[0]  # other work on the machine skews every figure
    work = Path(tempfile.mkdtemp(prefix="bench-sfu-return-"))
    try:
        with BenchRig(work, prebuffering) as rig:
            studio_sound = work / "studio.wav"
            write_tone_wav(studio_sound, STUDIO_HZ, seconds=3.0, amplitude=0.02)
            sound = ["--studio-audio", str(studio_sound)] if config != "off" else []
            server = ServeProcess(work / "rec", "--codec", "copy", "--ice-servers", "[]",
                                  "--sfu", rig.sfu, "--sfu-room", str(rig.room), "--sfu-secret",
                                  rig.api_secret, *options, *sound)
            try:
                assert server.token is not None
                result, cpu = run_guests(
                    [server.base, server.token, "--total", str(guests), "--lines", lines], guests,
                    seconds, {"studio": server.proc.pid, "janus": rig.pid()}, work)
            finally:
                output = server.stop()
                (work / "serve.log").write_text(output)
    except BaseException:
        print(f"  run kept for a look in {work}", file=sys.stderr)
        raise
    if keep:
        print(f"  logs kept in {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    row = summarise(guests, config, load, cpu, result)
    row["prebuffering"] = prebuffering
    return row


def summarise(guests: int, config: str, load: float, cpu: dict, result: dict) -> dict:
    row = {"guests": guests, "config": config, "load_before": round(load, 2),
           "seconds": round(cpu["span"], 1), "studio_cpu_pct": cpu["studio"],
           "janus_cpu_pct": cpu["janus"], "guests_cpu_pct": cpu["guests"], **result}
    through = result.get("mouth_to_ear_ms") or []
    direct = result.get("direct_mouth_to_ear_ms") or []
    row["mouth_to_ear_median_ms"] = round(statistics.median(through), 1) if through else None
    row["direct_median_ms"] = round(statistics.median(direct), 1) if direct else None
    if through and direct:
        row["janus_adds_ms"] = round(row["mouth_to_ear_median_ms"] - row["direct_median_ms"], 1)
    starts = [s for s in result.get("sound_start_s", []) if s is not None]
    row["sound_start_max_s"] = max(starts) if starts else None
    own = [v for v in result.get("own_voice", []) if v is not None]
    row["own_voice_below_db_min"] = min(v["below_db"] for v in own) if own else None
    # What Opus's noise leaves at a pitch nobody sends: own voice no louder is not heard.
    row["own_above_floor_db_max"] = max(round(v["own_db"] - v["floor_db"], 1) for v in own) if own else None
    return row


def describe(row: dict) -> str:
    text = (f"{row['guests']:2d} guests {row['config']:10s} studio {row['studio_cpu_pct']:5.1f} %  "
            f"Janus {row['janus_cpu_pct']:5.1f} %  (guests' process {row['guests_cpu_pct']:.0f} %, "
            f"load {row['load_before']:.1f})")
    if row.get("janus_adds_ms") is not None:
        text += (f"  mouth-to-ear {row['mouth_to_ear_median_ms']:.0f} ms "
                 f"(max {max(row['mouth_to_ear_ms']):.0f}, {len(row['mouth_to_ear_ms'])} beeps), "
                 f"direct {row['direct_median_ms']:.0f} ms: Janus adds {row['janus_adds_ms']:.0f} ms")
    if row["sound_start_max_s"] is not None:
        starts = [s for s in row["sound_start_s"] if s is not None]
        text += f"  sound after {min(starts):.2f}-{max(starts):.2f} s"
        missing = len(row["sound_start_s"]) - len(starts)
        text += f" ({missing} heard nothing)" if missing else ""
    if row["own_voice_below_db_min"] is not None:
        text += (f"  own voice >= {row['own_voice_below_db_min']:.0f} dB below the others, "
                 f"<= {row['own_above_floor_db_max']:+.1f} dB from the floor")
    if row["config"] == "audio+grid":
        text += f"  grid frames {row['grid_frames']} {row['grid_sizes']}"
    return text


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guests", default="1,4,8", help="guest counts, comma separated")
    parser.add_argument("--configs", default=",".join(CONFIGS), help=f"of {', '.join(CONFIGS)}")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per run")
    parser.add_argument("--prebuffering", type=int,
                        help="the AudioBridge room's default_prebuffering (packets), "
                             "instead of install/janus.sh's")
    parser.add_argument("--keep", action="store_true",
                        help="keep each run's logs (studio, guests, Janus) and print where")
    parser.add_argument("--smallest", action="store_true",
                        help="one short run: 2 guests, audio+grid, 4 s (a smoke test)")
    args = parser.parse_args(argv)
    reason = janus_missing_reason()
    if reason:
        sys.exit(reason)
    if args.smallest:
        args.guests, args.configs, args.seconds = "2", "audio+grid", 4.0
    configs = args.configs.split(",")
    unknown = set(configs) - set(CONFIGS)
    if unknown:
        sys.exit(f"unknown configs: {', '.join(sorted(unknown))}")
    rows = []
    for guests in (int(n) for n in args.guests.split(",")):
        for config in configs:
            row = measure(guests, config, args.seconds, args.keep, args.prebuffering)
            rows.append(row)
            print(describe(row), flush=True)
    result = {"runs": rows}
    print("RESULT " + json.dumps(result), flush=True)
    return result


if __name__ == "__main__":
    main()

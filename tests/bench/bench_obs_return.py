"""What the return inside OBS costs OBS: the studio track's audio tap, and OBS's program as
the picture guests see instead of the grid (real OBS under Xvfb with the script).

One guest (aiortc, audio and a small picture) watches and listens to its return while
OBS's CPU is read from /proc over windows of `--seconds`, the script's settings changed
between them as the Scripts dialog does: the grid with track 6 (the defaults), OBS's
program, and the grid with no track, in `--rounds` rounds; each figure is the median of
its windows, and the spread says how much windows of the same setting differ on a busy
machine. A colour source fills the canvas; a looping tone plays on track 6.

    .venv/bin/python tests/bench/bench_obs_return.py --size 1920x1080 --fps 30 --seconds 10 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path[:0] = [str(HERE), str(ROOT / "tests"), str(ROOT / "lib")]

from bench_recording import process_cpu_seconds  # noqa: E402

from support.obs_harness import ObsHarness, obs_available  # noqa: E402
from support.obs_return_guest import GuestThread  # noqa: E402
from support.tones import write_tone_wav  # noqa: E402

SETTINGS_HELPER = ROOT / "tests" / "support" / "obs_settings_helper.py"
WINDOWS = [("grid", {"return_video": "grid", "studio_track": 6}),
           ("program", {"return_video": "program", "studio_track": 6}),
           ("no_track", {"return_video": "grid", "studio_track": 0})]


def tap_stats(log: str) -> dict[str, str]:
    """The taps' own summary lines, logged when the script stops."""
    return {kind: line.split("tap: ", 1)[1] for line in log.splitlines()
            for kind in ("OBS track", "OBS program") if f"{kind} tap: " in line}


def measure(size: tuple[int, int], fps: int, seconds: float, rounds: int, settle: float = 2.5) -> dict:
    work = Path(tempfile.mkdtemp(prefix="bench-obs-return-"))
    try:
        tone = work / "tone.wav"
        write_tone_wav(tone, 1800.0, seconds=2.0)
        settings_file = work / "settings.json"
        harness = ObsHarness(work / "obs", {"start_recording": "manual", "add_to_scene": False},
                             canvas=size, fps=fps, extra_scripts=[SETTINGS_HELPER],
                             extra_env={"GUESTREC_TEST_SETTINGS": str(settings_file)})
        with harness as h:
            h.wait_for_server()
            scene = h.ws.get_current_program_scene().current_program_scene_name
            h.ws.create_input(scene, "Colour", "color_source_v3",
                              {"color": 0xFF3366CC, "width": size[0], "height": size[1]}, True)
            h.ws.create_input(scene, "Tone", "ffmpeg_source",
                              {"is_local_file": True, "local_file": str(tone), "looping": True}, True)
            guest = GuestThread(h.whip_url("Bench"), h.token, video=True, decode_video=False)
            rows: dict[str, list[float]] = {name: [] for name, _ in WINDOWS}
            try:
                guest.join()
                for _round in range(rounds):
                    for name, values in WINDOWS:
                        settings_file.write_text(json.dumps(values))
                        h.ws.trigger_hotkey_by_name("guestrec_test_settings")
                        time.sleep(settle)  # applied, and the encoder's picture source settled
                        before, started = process_cpu_seconds(h.proc.pid), time.monotonic()
                        time.sleep(seconds)
                        elapsed = time.monotonic() - started
                        rows[name].append(100 * (process_cpu_seconds(h.proc.pid) - before) / elapsed)
            finally:
                guest.close()
            h.stop()  # the script stops and logs what its taps did
            taps = tap_stats(h.log_text())
    finally:
        shutil.rmtree(work, ignore_errors=True)
    median = {name: statistics.median(cpus) for name, cpus in rows.items()}
    result = {"size": f"{size[0]}x{size[1]}", "fps": fps, "seconds": seconds, "rounds": rounds,
              **{f"obs_percent_{name}": round(median[name], 1) for name in rows},
              "windows": {name: [round(cpu, 1) for cpu in cpus] for name, cpus in rows.items()},
              "program_extra_percent": round(median["program"] - median["grid"], 1),
              "track_tap_percent": round(median["grid"] - median["no_track"], 1),
              "taps": taps}
    print(f"\nOBS {result['size']} at {fps} fps, one guest watching and listening, {rounds} rounds of "
          f"{seconds:.0f} s windows")
    for name, cpus in rows.items():
        print(f"  {name:9s} OBS median {median[name]:5.1f}% of a core (windows "
              f"{', '.join(f'{cpu:.1f}' for cpu in cpus)})")
    print(f"  OBS's program instead of the grid: {result['program_extra_percent']:+.1f}% of a core")
    print(f"  reading track 6 for the guests: {result['track_tap_percent']:+.1f}% of a core")
    for kind, line in taps.items():
        print(f"  {kind} tap: {line}")
    return result


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--settle", type=float, default=2.5,
                        help="seconds between a setting and its window (default 2.5)")
    args = parser.parse_args(argv)
    reason = obs_available()
    if reason:
        sys.exit(reason)
    width, height = (int(v) for v in args.size.split("x"))
    return measure((width, height), args.fps, args.seconds, args.rounds, args.settle)


if __name__ == "__main__":
    main()

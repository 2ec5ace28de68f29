"""Guest names cannot lead outside the output folder or over another file."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from guestrec.common.names import display_name, reserve_recording_path, safe_file_stem

MOMENT = datetime(2026, 11, 24, 10, 15, 0, tzinfo=UTC)


@pytest.fixture
def berlin(monkeypatch):
    """Local time one hour ahead of UTC (in November), as on a studio's machine in Berlin."""
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize(
    "raw",
    ["../x", "../../etc/passwd", "..", "/abs/path", "a\\b", "CON", "con.txt", "LPT1", "nul",
     "😀 party", "x" * 300, "", "   ", "\x00\x01evil\n", "name with spaces"],
)
def test_hostile_names_stay_inside_the_folder(tmp_path, raw, berlin) -> None:
    path = reserve_recording_path(tmp_path, raw, "webm", MOMENT)
    assert path.parent == tmp_path.resolve()
    assert path.exists() and path.stat().st_size == 0
    assert path.name.endswith(" 2026-11-24 11-15-00.webm")
    stem = path.name.split(" 2026-11-24")[0]
    assert stem.upper().split(".")[0] not in {"CON", "PRN", "AUX", "NUL", "LPT1"}
    assert len(path.name) < 100


def test_file_names_use_local_time_like_obs(tmp_path, berlin) -> None:
    """OBS names its recordings "2026-11-24 11-15-00.mkv" in local time; a guest's file
    carries the same stamp after the guest's name."""
    assert reserve_recording_path(tmp_path, "Ann", "webm", MOMENT).name == "Ann 2026-11-24 11-15-00.webm"
    summer = datetime(2026, 7, 1, 22, 30, 5, tzinfo=UTC)  # two hours ahead, next day
    assert reserve_recording_path(tmp_path, "Eve 2", "mka", summer).name == "Eve_2 2026-07-02 00-30-05.mka"


def test_same_name_same_second_gets_distinct_files(tmp_path, berlin) -> None:
    first = reserve_recording_path(tmp_path, "Alice", "webm", MOMENT)
    second = reserve_recording_path(tmp_path, "Alice", "webm", MOMENT)
    assert first.name == "Alice 2026-11-24 11-15-00.webm"
    assert second != first and second.name == "Alice 2026-11-24 11-15-00 (2).webm"


def test_another_container_in_the_same_second_gets_its_own_stem(tmp_path, berlin) -> None:
    """The sidecar is named from the stem: a .webm and an .mkv of one second must not share
    `<stem>.json`."""
    first = reserve_recording_path(tmp_path, "Alice", "webm", MOMENT)
    second = reserve_recording_path(tmp_path, "Alice", "mkv", MOMENT)
    assert first.stem != second.stem
    assert second.name == "Alice 2026-11-24 11-15-00 (2).mkv"


def test_existing_file_is_never_overwritten(tmp_path, berlin) -> None:
    existing = tmp_path / "Bob 2026-11-24 11-15-00.webm"
    existing.write_bytes(b"keep me")
    path = reserve_recording_path(tmp_path, "Bob", "webm", MOMENT)
    assert path != existing and existing.read_bytes() == b"keep me"


def test_safe_stem_and_display_name() -> None:
    assert safe_file_stem("Alice") == "Alice"
    assert safe_file_stem("CON") == "_CON"
    assert safe_file_stem("../x") == "x"
    assert "/" not in safe_file_stem("a/b") and safe_file_stem("a/b") == "a_b"
    assert safe_file_stem("😀") == "guest"
    assert display_name("  Ann\n ") == "Ann"
    assert display_name("") == "guest"
    assert len(display_name("y" * 300)) == 64

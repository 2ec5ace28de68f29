"""The script's return settings ("Guests hear OBS track", "Guests see") as engine settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from guestrec.conversation.pushed_feed import PushedFeed
from guestrec.conversation.pushed_picture import PushedPicture
from guestrec.obs_bridge.options import ObsReturnSources, ScriptOptions, engine_settings

MEDIA = ObsReturnSources(sound=PushedFeed(), picture=PushedPicture())


def returns_for(tmp_path: Path, **options):
    settings, _ = engine_settings(ScriptOptions(**options), tmp_path, obs_media=MEDIA)
    return settings.returns()


def test_guests_hear_the_track_by_default_and_nothing_of_obs_with_none(tmp_path: Path) -> None:
    assert ScriptOptions().studio_track == 6 and ScriptOptions().return_video == "grid"
    assert returns_for(tmp_path).studio_feed is MEDIA.sound
    assert returns_for(tmp_path, studio_track=0).studio_feed is None


def test_guests_see_the_program_only_when_asked(tmp_path: Path) -> None:
    assert returns_for(tmp_path).video == "grid"
    program = returns_for(tmp_path, return_video="program")
    assert program.video == "program" and program.program_picture is MEDIA.picture
    assert returns_for(tmp_path, return_video="off").video == "off"


def test_an_unknown_choice_is_refused_with_the_choices(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="grid, program, off"):
        engine_settings(ScriptOptions(return_video="mosaic"), tmp_path, obs_media=MEDIA)


def test_outside_obs_the_program_cannot_be_shown(tmp_path: Path) -> None:
    settings, _ = engine_settings(ScriptOptions(return_video="program"), tmp_path)
    with pytest.raises(ValueError, match="inside OBS only"):
        settings.returns()

"""OBS's program picture pushed from another thread, as the return video's source."""

from __future__ import annotations

import time

import numpy as np
import pytest

from guestrec.conversation.pushed_picture import PushedPicture
from guestrec.conversation.return_feed import ReturnFeed
from guestrec.conversation.settings import ReturnSettings, ReturnSettingsError


def planes(y: int, u: int, v: int, width: int = 640, height: int = 360, stride: int = 704):
    """I420 planes with rows wider than the picture, as libobs hands them out."""
    luma = np.full((height, stride), 0, dtype=np.uint8)
    luma[:, :width] = y
    cu = np.full((height // 2, stride // 2), 0, dtype=np.uint8)
    cu[:, :width // 2] = u
    cv = np.full((height // 2, stride // 2), 0, dtype=np.uint8)
    cv[:, :width // 2] = v
    return luma, cu, cv


def yuv_of(frame) -> tuple[float, float, float]:
    data = frame.to_ndarray()  # yuv420p: Y rows, then U and V packed
    h, w = frame.height, frame.width
    chroma = data[h:].reshape(-1)
    quarter = (h // 2) * (w // 2)
    return float(data[:h].mean()), float(chroma[:quarter].mean()), float(chroma[quarter:].mean())


def test_black_until_the_first_picture_then_the_latest_one() -> None:
    picture = PushedPicture()
    first = picture.compose()
    assert (first.width, first.height) == (640, 360)
    assert yuv_of(first) == (16.0, 128.0, 128.0)
    picture.push(*planes(81, 90, 240))
    picture.push(*planes(145, 54, 34))
    assert yuv_of(picture.compose()) == (145.0, 54.0, 34.0), "the padding past each row must be cut"


def test_pushes_are_wanted_only_while_the_encoder_asks_and_at_its_rate() -> None:
    picture = PushedPicture(max_fps=10)
    assert not picture.wanted(), "nobody asked: the pusher should not copy anything"
    assert not picture.asked_within(1.0)
    picture.compose()
    assert picture.asked_within(1.0)
    now = time.monotonic()
    assert picture.wanted(now)
    picture.push(*planes(100, 128, 128))
    assert not picture.wanted(time.monotonic()), "a push just came: the next waits 1/max_fps"
    assert picture.wanted(time.monotonic() + 0.11)
    assert not picture.wanted(time.monotonic() + 5.0), "the encoder stopped asking"


def test_a_picture_that_stops_coming_goes_black() -> None:
    picture = PushedPicture(stale_seconds=0.1)
    picture.push(*planes(200, 128, 128))
    assert yuv_of(picture.compose())[0] == 200.0
    time.sleep(0.15)
    assert yuv_of(picture.compose())[0] == 16.0


def test_planes_smaller_than_the_picture_are_refused() -> None:
    with pytest.raises(ValueError, match="smaller"):
        PushedPicture().push(*planes(100, 128, 128, width=320, height=180, stride=320))


def test_program_needs_a_picture_and_then_replaces_the_grid() -> None:
    with pytest.raises(ReturnSettingsError, match="inside OBS only"):
        ReturnSettings(video="program")
    picture = PushedPicture()
    picture.push(*planes(145, 54, 34))
    returns = ReturnFeed(ReturnSettings(video="grid", program_picture=picture))
    assert yuv_of(returns._picture())[0] == 16.0, "grid without guests: black"
    returns.configure(ReturnSettings(video="program", program_picture=picture))
    assert yuv_of(returns._picture()) == (145.0, 54.0, 34.0)

"""The studio's sound pushed from another thread (OBS's audio thread) into the return mixer."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from guestrec.conversation.pushed_feed import PushedFeed
from guestrec.conversation.return_feed import STUDIO_KEY, ReturnFeed
from guestrec.conversation.settings import ReturnSettings


def ramp(first: int, count: int) -> np.ndarray:
    """Samples numbered first..first+count-1 on both channels, to see order and gaps."""
    values = (np.arange(first, first + count) % 30000).astype(np.int16)
    return np.stack([values, values], axis=1)


def test_plays_in_order_once_a_little_is_in_hand() -> None:
    feed = PushedFeed(prefill=1024, high_water=8192)
    assert not feed.read_within(1.0), "nobody read yet: OBS's callback may stay off"
    feed.push(ramp(1, 1024))
    assert not feed.read(960).any(), "it should wait for prefill + one read's worth"
    feed.push(ramp(1025, 1024))
    out = np.concatenate([feed.read(960), feed.read(960)])
    assert out.shape == (1920, 2)
    np.testing.assert_array_equal(out[:, 0], np.arange(1, 1921))
    assert feed.read_within(1.0)
    assert feed.underruns == 0 and feed.dropped == 0


def test_running_dry_plays_silence_then_fills_up_again() -> None:
    feed = PushedFeed(prefill=960, high_water=8192)
    feed.push(ramp(1, 2000))
    feed.read(960)
    feed.read(960)
    tail = feed.read(960)  # 80 samples left
    np.testing.assert_array_equal(tail[:80, 0], np.arange(1921, 2001))
    assert not tail[80:].any() and feed.underruns == 1
    feed.push(ramp(5000, 960))
    assert not feed.read(960).any(), "after running dry it waits for prefill again"
    feed.push(ramp(5960, 960))
    assert feed.read(960)[0, 0] == 5000


def test_audio_that_piles_up_is_dropped_oldest_first() -> None:
    feed = PushedFeed(prefill=960, high_water=4800)
    for block in range(50):  # nobody reads for a second
        feed.push(ramp(block * 1024, 1024))
    assert feed.waiting_ms <= 100.0 + 1e-9
    assert feed.dropped == 50 * 1024 - 4800
    newest_first = 50 * 1024 - 4800
    assert feed.read(960)[0, 0] == newest_first % 30000


def test_pushes_from_another_thread_while_the_mixer_reads() -> None:
    feed = PushedFeed()
    stop = threading.Event()
    pushed = [0]

    def obs_audio_thread() -> None:
        while not stop.is_set():
            feed.push(ramp(pushed[0], 1024))
            pushed[0] += 1024
            time.sleep(0.0213)

    thread = threading.Thread(target=obs_audio_thread)
    thread.start()
    try:
        heard = []
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            heard.append(feed.read(960)[:, 0].copy())
            time.sleep(0.02)
    finally:
        stop.set()
        thread.join()
    played = np.concatenate(heard)
    played = played[played != 0]
    assert len(played) > 48000 * 0.6, f"only {len(played)} samples played"
    steps = np.diff(played.astype(np.int64))
    assert (steps[(steps > -29000)] >= 1).all(), "samples came out of order"
    assert feed.waiting_ms <= feed.high_water * 1000 / 48000
    status = feed.status()
    # Pushed at 1024 per 21.3 ms and read at 960 per 20 ms: what waits stays near prefill.
    assert 0 < status["waited_ms_mean"] <= status["waited_ms_max"] <= 120.0, status


def test_bad_samples_are_refused() -> None:
    with pytest.raises(ValueError, match="int16"):
        PushedFeed().push(np.zeros((10, 2), dtype=np.float32))
    with pytest.raises(ValueError, match="prefill"):
        PushedFeed(prefill=5000, high_water=4000)


def test_return_feed_takes_the_pushed_feed_and_lets_it_go() -> None:
    feed = PushedFeed(prefill=0, high_water=48000)
    returns = ReturnFeed(ReturnSettings(studio_feed=feed))
    assert returns.mixer.has_input(STUDIO_KEY)
    returns.configure(ReturnSettings(studio_feed=feed))  # the same feed: nothing changes
    assert returns.mixer.has_input(STUDIO_KEY)
    feed.push(ramp(1, 2000))
    returns._tick()  # the mixer reads 20 ms of the studio per tick
    assert feed._queue.available == 2000 - 960
    returns.configure(ReturnSettings())  # "none": no studio sound any more
    assert not returns.mixer.has_input(STUDIO_KEY)
    assert returns.status()["studio_feed"] is None


def test_a_talkback_going_on_keeps_a_studio_sound_that_comes_back_to_its_guest() -> None:
    feed = PushedFeed(prefill=0, high_water=48000)
    returns = ReturnFeed(ReturnSettings())  # "None": no studio sound
    assert not returns.talkback_to("Anna")
    returns.configure(ReturnSettings(studio_feed=feed))  # the track chosen again, mid-talkback
    returns.mixer.add_output("Anna")
    returns.mixer.add_output("Ben")
    feed.push(np.full((4800, 2), 8000, dtype=np.int16))
    heard = {}
    for _ in range(4):  # what _tick does, keeping the mixes
        returns.mixer.push(STUDIO_KEY, feed.read(960))
        heard = returns.mixer.tick()
    assert np.abs(heard["Anna"]).max() > 1000, "Anna should hear the studio's sound"
    assert not heard["Ben"].any(), "Ben should not hear the talkback"

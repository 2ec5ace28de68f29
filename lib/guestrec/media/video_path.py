"""The video path of a recording: which frame may start a file, the file's video
settings, each frame's position in the recording, and writing it (copied or encoded).

A mixin of RecordingWriter (writer.py): it works on the writer's worker-thread state.
"""

from __future__ import annotations

import time

import av

from .bitstream import vp8_frame_size
from .item import Item
from .mediafile import VideoSpec
from .segments import SPLIT_LEAD_SECONDS, Segment
from .videofit import fit_frame

# Video timestamps follow the guest's RTP clock frame to frame; the timeline (sender
# reports) only moves them when the two disagree by more than this (90 kHz ticks).
VIDEO_RESYNC_TICKS = 1350  # 15 ms


def encode_size(first_frame: tuple[int, int], capture: tuple[int, int] | None) -> tuple[int, int]:
    """The transcoded file's picture size: the camera's when it is known and larger than
    the first frame (smaller frames are scaled up into it), else the first frame's."""
    width, height = first_frame
    if capture is not None and capture[0] * capture[1] > width * height:
        width, height = capture
    return width & ~1, height & ~1


class VideoPath:
    """Video frames into the current file of a RecordingWriter."""

    def _learn_parameter_sets(self, item: Item) -> None:
        """Copied H.264: keep the latest SPS/PPS (sizes, and completing a file's first keyframe)."""
        if self.plan.copy and item.codec == "h264" and item.data:
            self._h264.update(item.data)

    def _video_startable(self, item: Item) -> bool:
        if not self.plan.copy:
            return item.frame is not None
        self._learn_parameter_sets(item)
        if item.keyframe and self._video_spec_for(item) is not None:
            return True
        self.request_keyframe()
        return False

    def _video_spec_for(self, item: Item) -> VideoSpec | None:
        if not self.plan.copy:
            frame = item.frame
            assert isinstance(frame, av.VideoFrame)
            if self._target_size is None:
                self._target_size = encode_size((frame.width, frame.height), self.capture_size)
            w, h = self._target_size
            return VideoSpec(self.plan.video_codec or "vp8", w, h, copy=False, kbps=self.plan.video_kbps)
        size = None
        if item.codec == "vp8" and item.data:
            size = vp8_frame_size(item.data)
        elif item.codec == "h264":
            size = self._h264.size()
            if size is None:
                return None
        if size is None:
            return None
        return VideoSpec(item.codec or "vp8", size[0], size[1], copy=True)

    def _video(self, item: Item) -> None:
        seg = self.current
        assert seg is not None and self.t0 is not None
        if not self.video_on:
            return
        self._learn_parameter_sets(item)
        seg = self._segment_for_video(item, seg)
        if seg is None:
            return
        pts = self._video_position(item) - seg.video_start
        if pts < 0:
            return
        if seg.last_video_t is not None and item.t - seg.last_video_t > 0.5:
            seg.video_gaps += 1
        seg.last_video_t = item.t
        if self.plan.copy:
            data = item.data or b""
            if item.codec == "h264" and item.keyframe and seg.video_frames == 0:
                data = self._h264.complete_keyframe(data) or data
            seg.file.write_video_packet(data, pts, item.keyframe)
        else:
            frame = item.frame
            assert isinstance(frame, av.VideoFrame) and self._target_size is not None
            frame = fit_frame(frame, *self._target_size)
            seg.file.encode_video(frame, pts)
        seg.video_frames += 1
        self.ledgers["video"].wrote(item.rtp)

    def _segment_for_video(self, item: Item, seg: Segment) -> Segment | None:
        """The file this frame goes into, once a new one is begun where one is due; None
        when the frame is skipped (it cannot begin the file that it needs)."""
        if seg.file.video_stream is None:
            # The file started without video (none came in time): video gets a new file.
            reason = "video arrived after the recording started"
        elif self.plan.copy and item.codec != seg.video_codec:
            reason = f"video codec changed to {item.codec}"
        elif self._split_due(item):
            reason = "split"
        else:
            return seg
        if reason != "split" and not self._video_startable(item):
            return None
        self._rotate(item, reason)
        return self.current

    def _split_due(self, item: Item) -> bool:
        """Whether this frame begins the next file of a split recording. Copied video
        splits at a keyframe near the split time, asking the guest for one meanwhile."""
        if self._next_split_t is None:
            return False
        if not self.plan.copy:
            return item.t >= self._next_split_t
        if item.t < self._next_split_t - SPLIT_LEAD_SECONDS:
            return False
        if item.keyframe and self._video_spec_for(item) is not None:
            return True
        if time.monotonic() - self._last_split_pli > 1.0:
            self._last_split_pli = time.monotonic()
            self.request_keyframe()
        return False

    def _video_position(self, item: Item) -> int:
        """Recording position (90 kHz) of a video frame: RTP-continuous, timeline-anchored."""
        assert self.t0 is not None
        anchored = round((item.t - self.t0) * 90_000)
        position = anchored
        if self._video_last is not None and item.rtp is not None:
            last_rtp, last_position = self._video_last
            step = item.rtp - last_rtp
            following = last_position + step
            if abs(following - anchored) <= VIDEO_RESYNC_TICKS:
                position = following
            else:
                self.video_resyncs += 1
                if anchored < following:
                    # Going back: catch up at no more than half speed, never a jump back.
                    position = max(anchored, last_position + max(1, step // 2))
        if item.rtp is not None:
            self._video_last = (item.rtp, position)
        return position

"""Keep one picture size per file when the guest's resolution changes mid-stream.

The encoder of a file is set up for the first frame's size. A later frame of another size
(a phone turned, a browser adapting its resolution) is scaled to fit inside that size with
its aspect ratio kept, centred on black: the file stays valid and nothing is distorted.
"""

from __future__ import annotations

import av
import numpy as np

_BLACK_YUV = (16, 128, 128)


def fit_frame(frame: av.VideoFrame, width: int, height: int) -> av.VideoFrame:
    """`frame` as yuv420p of exactly width x height (letterboxed if the aspect differs)."""
    if frame.width == width and frame.height == height:
        return frame if frame.format.name == "yuv420p" else frame.reformat(format="yuv420p", threads=1)
    scale = min(width / frame.width, height / frame.height)
    inner_w = max(2, int(frame.width * scale) & ~1)
    inner_h = max(2, int(frame.height * scale) & ~1)
    inner = frame.reformat(width=inner_w, height=inner_h, format="yuv420p", threads=1)
    if inner_w == width and inner_h == height:
        inner.pts, inner.time_base = frame.pts, frame.time_base
        return inner
    out = av.VideoFrame(width, height, "yuv420p")
    x0, y0 = ((width - inner_w) // 2) & ~1, ((height - inner_h) // 2) & ~1
    for index, (plane, src) in enumerate(zip(out.planes, inner.planes, strict=True)):
        div = 1 if index == 0 else 2
        dst = np.frombuffer(plane, dtype=np.uint8).reshape(plane.height, plane.line_size)
        dst[:, :] = _BLACK_YUV[index]
        rows = np.frombuffer(src, dtype=np.uint8).reshape(src.height, src.line_size)
        dst[y0 // div : y0 // div + src.height, x0 // div : x0 // div + src.width] = rows[:, : src.width]
    out.pts, out.time_base = frame.pts, frame.time_base
    return out

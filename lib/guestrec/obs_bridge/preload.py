"""Keep PyAV's bundled codec libraries apart from the ones OBS itself links.

Inside OBS the process already holds the system's FFmpeg and codec libraries (the obs
binary links libavcodec, which pulls in libvpx, libopus, libx264, libdav1d ...). FFmpeg's
own symbols are versioned, but libvpx's and others' are not, so PyAV's libavcodec would bind
`vpx_codec_enc_init_ver` and friends to the older system libvpx: its VP8/VP9 encoders then
fail to open (EINVAL, an ABI mismatch) or worse. Loading PyAV's libraries first with
RTLD_DEEPBIND makes each of them look in its own dependencies before the global scope.

Must run before anything imports `av`. Linux only; elsewhere a no-op, and none is needed:
macOS (two-level namespaces) and Windows (per-DLL imports) bind each library's symbols to the
library it was linked against, whatever else the process holds. RTLD_DEEPBIND is a glibc flag.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import sys
from pathlib import Path

# Order matters a little: each library's own dependencies come first.
_FFMPEG_LIBS = ("libavutil", "libswresample", "libswscale", "libavcodec", "libavformat",
                "libavfilter", "libavdevice")
_loaded: list[ctypes.CDLL] = []  # keep the handles: the libraries must stay mapped


def isolate_pyav_libraries() -> list[str]:
    """dlopen PyAV's bundled FFmpeg with RTLD_DEEPBIND; returns the files loaded."""
    if not sys.platform.startswith("linux") or not hasattr(os, "RTLD_DEEPBIND"):
        return []
    if "av" in sys.modules:
        return []  # too late to help; binding happened at import
    spec = importlib.util.find_spec("av")
    if spec is None or spec.origin is None:
        return []
    libs = Path(spec.origin).resolve().parent.parent / "av.libs"  # auditwheel's folder
    if not libs.is_dir():
        return []  # a PyAV built against system FFmpeg shares OBS's libraries anyway
    done = []
    for stem in _FFMPEG_LIBS:
        for path in sorted(libs.glob(f"{stem}-*.so*")):
            _loaded.append(ctypes.CDLL(str(path), mode=os.RTLD_NOW | os.RTLD_DEEPBIND))
            done.append(path.name)
    return done

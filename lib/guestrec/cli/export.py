"""`python -m guestrec export SESSION_DIR`: the session as timelines for every editor and
aligned stems (lib/guestrec/export does the work)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

FORMAT_LIST = "otio,fcpxml,xml,kdenlive,edl,stems"


def add_export(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="export a session for editing: timelines, aligned stems, README")
    p.add_argument("session_dir", type=Path, help='the session folder ("Session YYYY-MM-DD HH-MM-SS")')
    p.add_argument("--to", default=FORMAT_LIST, metavar="LIST",
                   help=f"what to write, comma separated (default: all of {FORMAT_LIST})")
    p.add_argument("--out", type=Path, default=None,
                   help="export folder (default: SESSION_DIR/export); replaced whole by a new export")
    p.add_argument("--proxies", action="store_true",
                   help="also make edit-friendly copies (H.264 + PCM in MOV) for the XML timelines "
                        "and the EDL")
    p.add_argument("--fps", type=float, default=None,
                   help="timeline frame rate (default: the session's, else OBS's, else 30)")
    p.add_argument("--skip-missing", action="store_true",
                   help="export without files of the session that are missing (named in README.txt)")


def export(args: argparse.Namespace) -> int:
    from ..export import ExportError, export_session, parse_formats

    progress = _Progress()
    try:
        result = export_session(
            args.session_dir, parse_formats(args.to), out=args.out, proxies=args.proxies,
            frame_rate=args.fps, skip_missing=args.skip_missing, progress=progress)
    except (ExportError, OSError) as exc:
        progress.done()
        print(f"error: {exc}", file=sys.stderr)
        return 2
    progress.done()
    for lane in result.session.lanes:
        names = ", ".join(f.path.name for f in lane.files)
        print(f"{lane.name}: {names} ({lane.reason})")
    print(f"Exported to {result.folder} in {result.seconds:.1f} s (see README.txt there)")
    return 0


class _Progress:
    """One line on stderr, rewritten in place while a proxy is made."""

    def __init__(self) -> None:
        self._open = False

    def __call__(self, text: str) -> None:
        if text.endswith("%"):
            print(f"\r{text}", end="", file=sys.stderr, flush=True)
            self._open = True
            return
        self.done()
        print(text, file=sys.stderr, flush=True)

    def done(self) -> None:
        if self._open:
            print(file=sys.stderr, flush=True)
            self._open = False

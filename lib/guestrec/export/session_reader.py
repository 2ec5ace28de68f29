"""A session folder read for export: its manifest, every file's sidecar and the files
themselves, into placed files grouped into lanes (one per guest, one for OBS).

Refuses (ExportError) a session that is still recording and one whose files are missing,
naming them, before anything is written.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..common.names import safe_file_stem
from ..media.sidecar import parse_time
from .best_file import choose
from .errors import ExportError, MissingFiles, StillRecording
from .file_probe import probe_file
from .model import BROWSER, OBS, STUDIO, Lane, Session, SourceFile
from .placement import Place, browser_place, obs_place, studio_place

MANIFEST = "session.json"
DEFAULT_FRAME_RATE = 30.0


def read_session(folder: Path | str, frame_rate: float | None = None,
                 skip_missing: bool = False) -> Session:
    folder = Path(folder).expanduser().resolve()
    manifest = _manifest(folder)
    started = parse_time(manifest.get("started"))
    if started is None:
        raise ExportError(f"{folder / MANIFEST} has no valid 'started' time")
    notes: list[str] = []
    _refuse_if_recording(folder, manifest, notes)
    entries = [e for e in manifest.get("files") or [] if isinstance(e, dict) and e.get("file")]
    runs = [r for r in manifest.get("obs_recordings") or [] if isinstance(r, dict)]
    skipped = _check_present(folder, entries, runs, skip_missing)

    studio: list[SourceFile] = []
    browser: list[tuple[dict, dict, Path]] = []
    for entry in entries:
        path = folder / entry["file"]
        if not path.exists():
            continue  # named in `skipped` already
        side = _sidecar(folder, entry, path)
        if side.get("recorded_at") == "guest":
            browser.append((entry, side, path))
            continue
        place = studio_place(side, started) or _manifest_place(entry)
        made = _source(path, STUDIO, entry, side, place, skipped)
        if made is not None:
            studio.append(made)

    studio_starts = {f.path.name: f.audio_start for f in studio}
    placed_browser: list[SourceFile] = []
    unplaced: dict[str, list[str]] = {}
    for entry, side, path in browser:
        place = browser_place(side, started, studio_starts)
        if place is None:
            unplaced.setdefault(_guest_of(entry, side), []).append(path.name)
            continue
        made = _source(path, BROWSER, entry, side, place, skipped)
        if made is not None:
            placed_browser.append(made)

    lanes = _guest_lanes(studio, placed_browser, unplaced, skipped)
    obs_lane = _obs_lane(folder, runs, skipped)
    if obs_lane is not None:
        lanes.append(obs_lane)
    _name_stems(lanes)
    rate = frame_rate or _frame_rate(manifest, obs_lane)
    return Session(
        folder=folder, name=str(manifest.get("session") or folder.name), started=started,
        ended=parse_time(manifest.get("ended")), frame_rate=rate, lanes=lanes, notes=notes,
        skipped=skipped,
    )


def _manifest(folder: Path) -> dict:
    path = folder / MANIFEST
    if not folder.is_dir():
        raise ExportError(f"no such folder: {folder}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ExportError(f"{folder} has no {MANIFEST}: choose a session folder "
                          "(\"Session YYYY-MM-DD HH-MM-SS\" in the output folder)") from None
    except (OSError, ValueError) as exc:
        raise ExportError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ExportError(f"{path} is not a session manifest")
    return data


def _refuse_if_recording(folder: Path, manifest: dict, notes: list[str]) -> None:
    if manifest.get("ended"):
        return
    busy = [e["file"] for e in manifest.get("files") or []
            if isinstance(e, dict) and e.get("status") == "recording" and e.get("file")]
    busy += [p.name for p in sorted(folder.glob("*.part"))]  # a browser's upload still arriving
    busy += [name for name in _files_still_written(folder) if name not in busy]
    runs = manifest.get("obs_recordings") or []
    if any(isinstance(r, dict) and r.get("end_seconds") is None for r in runs):
        busy.append("OBS's own recording")
    if busy:
        raise StillRecording(
            f"the session in {folder.name} is still recording ({', '.join(busy)}): stop its "
            "recordings and export again. If the studio stopped without finishing them (a crash), "
            "run `python -m guestrec repair FILE` on each file, then export.", busy)
    notes.append("The session has no end time (the studio stopped without closing it); every "
                 "file in it is finished, so it was exported as it is.")


def _files_still_written(folder: Path) -> list[str]:
    """Files whose sidecars say they are being written (the manifest can lag behind)."""
    names = []
    for side_path in sorted(folder.glob("*.json")):
        if side_path.name == MANIFEST:
            continue
        try:
            side = json.loads(side_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(side, dict) and (side.get("status") == "recording" or side.get("state") == "receiving"):
            names.append(str(side.get("file") or side_path.name))
    return names


def _check_present(folder: Path, entries: list[dict], runs: list[dict], skip_missing: bool) -> list[str]:
    missing = [e["file"] for e in entries if not (folder / e["file"]).exists()]
    missing += [str(r["file"]) for r in runs if r.get("file") and not _obs_path(folder, r).exists()]
    if missing and not skip_missing:
        raise MissingFiles("missing file" + ("s" if len(missing) > 1 else "") + " of the session: "
                           + ", ".join(missing) + ". Put them back (the session's files are listed "
                           "in session.json), or export without them with --skip-missing.", missing)
    return [f"{name}: missing, left out" for name in missing]


def _sidecar(folder: Path, entry: dict, media: Path) -> dict:
    name = entry.get("sidecar") or media.with_suffix(".json").name
    try:
        side = json.loads((folder / name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return side if isinstance(side, dict) else {}


def _manifest_place(entry: dict) -> Place | None:
    start = entry.get("media_start_seconds", entry.get("start_seconds"))
    if not isinstance(start, int | float):
        return None
    exact = "media_start_seconds" in entry
    how = "the session manifest" + ("" if exact else " (when the file was opened: up to 1.5 s late)")
    return Place(float(start), float(start), how, exact)


def _guest_of(entry: dict, side: dict) -> str:
    return str(side.get("guest") or entry.get("guest") or "guest")


def _status(side: dict, entry: dict) -> str:
    if side.get("recorded_at") == "guest":
        return str(side.get("state") or "unknown")
    return str(side.get("status") or entry.get("status") or "unknown")


def _source(path: Path, origin: str, entry: dict, side: dict, place: Place | None,
            skipped: list[str]) -> SourceFile | None:
    if place is None:
        skipped.append(f"{path.name}: its place on the timeline is not known, left out")
        return None
    try:
        probe = probe_file(path)
    except ExportError as exc:
        skipped.append(f"{exc}; left out")
        return None
    return SourceFile(
        path=path, origin=origin, guest=_guest_of(entry, side), status=_status(side, entry),
        audio_start=place.audio, video_start=place.video, placed_by=place.how, probe=probe,
        note="" if place.exact else "placed only approximately", sidecar=side,
    )


def _guest_lanes(studio: list[SourceFile], browser: list[SourceFile],
                 unplaced: dict[str, list[str]], skipped: list[str]) -> list[Lane]:
    first_seen: dict[str, float] = {}
    for f in sorted([*studio, *browser], key=lambda f: f.start):
        first_seen.setdefault(f.guest or "guest", f.start)
    for guest in unplaced:
        first_seen.setdefault(guest, float("inf"))
    lanes = []
    for guest in sorted(first_seen, key=lambda g: (first_seen[g], g)):
        mine = [f for f in studio if f.guest == guest]
        theirs = [f for f in browser if f.guest == guest]
        choice = choose(mine, theirs, unplaced.get(guest))
        used = {id(f) for f in choice.files}
        for f in [*mine, *theirs]:
            if id(f) not in used:
                skipped.append(f"{f.path.name}: not used ({guest}'s other recording is)")
        if choice.files:
            lanes.append(Lane(name=guest, files=choice.files, reason=choice.reason))
        else:
            skipped.append(f"{guest}: {choice.reason}")
    return lanes


def _obs_path(folder: Path, run: dict) -> Path:
    path = Path(str(run["file"])).expanduser()
    return path if path.is_absolute() else folder / path


def _obs_lane(folder: Path, runs: list[dict], skipped: list[str]) -> Lane | None:
    files = []
    for run in runs:
        if not run.get("file"):
            skipped.append("an OBS recording whose file OBS did not name: left out")
            continue
        path = _obs_path(folder, run)
        if not path.exists():
            continue
        made = _source(path, OBS, {"guest": None}, {"status": "complete"}, obs_place(run), skipped)
        if made is not None:
            made.guest = None
            files.append(made)
    if not files:
        return None
    return Lane(name="OBS recording", files=sorted(files, key=lambda f: f.start),
                reason="OBS's own recording of the show", is_obs=True)


def _name_stems(lanes: list[Lane]) -> None:
    taken: set[str] = set()
    for lane in lanes:
        base = safe_file_stem(lane.name)
        name, n = base, 1
        while name.lower() in taken:
            n += 1
            name = f"{base}_{n}"
        taken.add(name.lower())
        lane.stem_name = name + ".wav"


def _frame_rate(manifest: dict, obs_lane: Lane | None) -> float:
    given = manifest.get("frame_rate")
    if isinstance(given, int | float) and 1 <= given <= 240:
        return float(given)
    if obs_lane is not None:
        rates = [f.probe.frame_rate for f in obs_lane.files if f.probe.frame_rate]
        if rates:
            return _standard_rate(rates[0])
    return DEFAULT_FRAME_RATE


def _standard_rate(rate: float) -> float:
    """OBS's 29.97 is 30000/1001; a rate read from a file is snapped to a standard one."""
    for standard in (23.976, 24.0, 25.0, 29.97, 30.0, 48.0, 50.0, 59.94, 60.0):
        if abs(rate - standard) < 0.02:
            return standard
    return round(rate, 3)


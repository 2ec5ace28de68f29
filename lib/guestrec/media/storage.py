"""Watching the folder a recording writes into, from the writer thread.

Writes through an open file keep succeeding when its folder is deleted (the data goes to
a file nobody can reach any more) or when a read-only mount is put over the folder (the
data goes on into the hidden folder; no new file can be made there). Neither shows up as
a write error, so the writer looks at most once a second:

- the file's path no longer names the file being written: deleted (file or folder), an
  error that ends the recording; its sidecar is written into the recreated folder;
- the folder is not writable any more: a warning (the open file still records; a split
  or a new recording cannot start there).

A full disk does show up as a write error (ENOSPC) and is handled where it happens.
"""

from __future__ import annotations

import errno
import os
import shutil
import time
from pathlib import Path

CHECK_SECONDS = 1.0
MIN_FREE_BYTES = 1024 * 1024  # a recording is not started with less free space than this


class FolderDeleted(OSError):
    def __init__(self, path: Path) -> None:
        super().__init__(
            errno.ENOENT, f"the recording's file or its folder was deleted while recording ({path})")


def identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def check_free_space(folder: Path) -> None:
    """OSError (ENOSPC) when the folder's disk has too little room to start a recording."""
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return  # the file creation that follows gives the real error
    if free < MIN_FREE_BYTES:
        raise OSError(errno.ENOSPC, f"No space left on device ({free // 1024} KB free in {folder})")


class StorageWatch:
    def __init__(self, clock=time.monotonic) -> None:
        self.clock = clock
        self.path: Path | None = None
        self._identity: tuple[int, int] | None = None
        self._next_check = 0.0
        self.warning: str | None = None

    def watch(self, path: Path) -> None:
        """A new file is being written."""
        self.path = Path(path)
        self._identity = identity(self.path)

    def check(self) -> str | None:
        """Raises FolderDeleted; returns a new warning once, else None."""
        now = self.clock()
        if self.path is None or now < self._next_check:
            return None
        self._next_check = now + CHECK_SECONDS
        current = identity(self.path)
        if self._identity is not None and current != self._identity:
            if current is None and not os.access(self.path.parent, os.W_OK) and self.path.parent.exists():
                pass  # a mount over the folder that hides the file: the read-only case below
            else:
                raise FolderDeleted(self.path)
        if self.warning is None and not os.access(self.path.parent, os.W_OK):
            self.warning = (
                f"the output folder {self.path.parent} is not writable any more: this file "
                "goes on recording, but no new file (split or new recording) can be made there"
            )
            return self.warning
        return None

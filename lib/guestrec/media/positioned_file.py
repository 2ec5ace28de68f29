"""Writing at a given offset of a binary file, the same way on Linux, macOS and Windows.

`os.pwrite` does not exist in Windows' Python, and a file opened by `os.open` without
`O_BINARY` is in text mode there (newlines rewritten, sizes off). `PositionedFile` opens
once in binary mode and writes with a seek and a write under a lock, so two threads
never interleave their seeks.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from types import TracebackType


class PositionedFile:
    """A binary file open for writes at offsets; OSError as `os.open` raises it."""

    def __init__(self, path: Path | str, *, create: bool = False, exclusive: bool = False,
                 truncate: bool = False, mode: int = 0o644) -> None:
        flags = os.O_WRONLY | getattr(os, "O_BINARY", 0)  # 0 where there is no text mode
        if create or exclusive:
            flags |= os.O_CREAT
        if exclusive:
            flags |= os.O_EXCL
        if truncate:
            flags |= os.O_TRUNC
        self.path = Path(path)
        self._fd: int | None = os.open(self.path, flags, mode)
        self._lock = threading.Lock()

    @property
    def closed(self) -> bool:
        return self._fd is None

    def _open_fd(self) -> int:
        if self._fd is None:
            raise ValueError(f"{self.path.name} is closed")
        return self._fd

    def write_at(self, offset: int, data: bytes | bytearray | memoryview) -> None:
        """Write all of `data` at `offset` (OSError, e.g. ENOSPC, when the disk refuses)."""
        view = memoryview(data).cast("B")
        with self._lock:
            fd = self._open_fd()
            os.lseek(fd, offset, os.SEEK_SET)
            while view:
                written = os.write(fd, view)
                if written <= 0:  # never seen; would loop forever otherwise
                    raise OSError(28, "No space left on device")
                view = view[written:]

    def truncate(self, size: int) -> None:
        with self._lock:
            os.ftruncate(self._open_fd(), size)

    def sync(self) -> None:
        """On disk before this returns (fsync; `_commit` on Windows)."""
        with self._lock:
            os.fsync(self._open_fd())

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                fd, self._fd = self._fd, None
                try:
                    os.close(fd)
                except OSError:
                    pass

    def __enter__(self) -> PositionedFile:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def create_empty(path: Path | str, mode: int = 0o644) -> None:
    """Create `path` empty; FileExistsError when it exists (claims a name atomically)."""
    PositionedFile(path, exclusive=True, mode=mode).close()

"""A WAV file written as it goes: 24-bit PCM, sizes filled in at the end.

A JUNK chunk after the header keeps room for RF64's ds64 chunk: a stem past 4 GiB (hours
of stereo) becomes an RF64 file in place, which editors and DAWs read; a smaller one stays
a plain WAV.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

BYTES_PER_SAMPLE = 3
_FULL_SCALE = 8_388_608  # 2 ** 23
_JUNK_SIZE = 28  # exactly a ds64 chunk's body
_LIMIT = 0xFFFFFFFF


class WavWriter:
    def __init__(self, path: Path, rate: int, channels: int) -> None:
        self.path, self.rate, self.channels = path, rate, channels
        self.frames = 0
        self._file = open(path, "wb")  # noqa: SIM115 - closed by close()
        block = channels * BYTES_PER_SAMPLE
        fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * block, block, BYTES_PER_SAMPLE * 8)
        self._file.write(b"RIFF" + b"\0\0\0\0" + b"WAVE")
        self._file.write(b"JUNK" + struct.pack("<I", _JUNK_SIZE) + b"\0" * _JUNK_SIZE)
        self._file.write(b"fmt " + struct.pack("<I", len(fmt)) + fmt)
        self._file.write(b"data" + b"\0\0\0\0")
        self._data_at = self._file.tell()

    def write(self, samples: np.ndarray) -> None:
        """`samples`: float32, shape (channels, n), values in [-1, 1]."""
        if samples.shape[1] == 0:
            return
        scaled = np.clip(samples.T, -1.0, 1.0 - 1.0 / _FULL_SCALE) * _FULL_SCALE
        ints = np.ascontiguousarray(np.round(scaled), dtype="<i4")
        self._file.write(ints.view(np.uint8).reshape(-1, 4)[:, :3].tobytes())
        self.frames += samples.shape[1]

    def silence(self, count: int) -> None:
        block = 48_000
        zeros = bytes(block * self.channels * BYTES_PER_SAMPLE)
        while count > 0:
            step = min(count, block)
            self._file.write(zeros[: step * self.channels * BYTES_PER_SAMPLE])
            self.frames += step
            count -= step

    def close(self) -> None:
        data = self.frames * self.channels * BYTES_PER_SAMPLE
        if data % 2:
            self._file.write(b"\0")  # RIFF chunks are padded to an even size
        end = self._file.tell()
        if end - 8 <= _LIMIT:
            self._file.seek(4)
            self._file.write(struct.pack("<I", end - 8))
            self._file.seek(self._data_at - 4)
            self._file.write(struct.pack("<I", data))
        else:
            self._file.seek(0)
            self._file.write(b"RF64" + struct.pack("<I", _LIMIT) + b"WAVE")
            self._file.write(b"ds64" + struct.pack("<I", _JUNK_SIZE)
                             + struct.pack("<QQQI", end - 8, data, self.frames, 0))
            self._file.seek(self._data_at - 4)
            self._file.write(struct.pack("<I", _LIMIT))
        self._file.close()

"""Keeps one listener's mix under full scale by turning it down, not by clipping it.

Several guests talking at once add up past what 16 bits hold. Clipping the sum would
put new tones into the mix (intermodulation: 2 x 700 Hz - 1100 Hz lands on 300 Hz, which
may be the listener's own voice coming back). Instead the whole block is turned down
just enough, the gain gliding across the block from where it was, and coming back up
slowly (about a second) once the room is quieter. A steady loud room thus gets a steady
gain, which adds nothing to the sound. Clipping stays only as a last guard.
"""

from __future__ import annotations

import numpy as np

CEILING = 30_000.0  # a little under 32767: room for the glide
RELEASE_PER_TICK = 0.02  # fraction of the way back to unity gain each 20 ms


class Limiter:
    def __init__(self) -> None:
        self.gain = 1.0

    def apply(self, mix: np.ndarray) -> np.ndarray:
        """`mix` float (n, 2), changed in place and returned as int16."""
        peak = float(np.max(np.abs(mix))) if mix.size else 0.0
        wanted = min(1.0, CEILING / peak) if peak > 0 else 1.0
        target = wanted if wanted < self.gain else self.gain + (1.0 - self.gain) * RELEASE_PER_TICK
        target = min(target, wanted)
        if target != 1.0 or self.gain != 1.0:
            ramp = np.linspace(self.gain, target, len(mix), dtype=np.float32)
            mix *= ramp[:, None]
        self.gain = target
        np.clip(np.rint(mix, out=mix), -32768, 32767, out=mix)
        return mix.astype(np.int16)

"""Just enough parsing of received VP8 / H.264 / Opus frames to record them without decoding.

Frames are as aiortc's depayloaders hand them to the decoder: VP8 without the RTP payload
descriptor, H.264 as Annex-B (start codes before every NAL unit).
"""

from __future__ import annotations

import struct

H264_IDR = 5
H264_SPS = 7
H264_PPS = 8


def vp8_is_keyframe(data: bytes) -> bool:
    # Frame tag, bit 0: 0 = key frame; a key frame also carries the start code 9d 01 2a.
    return len(data) >= 10 and data[0] & 0x01 == 0 and data[3:6] == b"\x9d\x01\x2a"


def vp8_frame_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a VP8 key frame header, None for an inter frame."""
    if not vp8_is_keyframe(data):
        return None
    width, height = struct.unpack_from("<HH", data, 6)
    return width & 0x3FFF, height & 0x3FFF


def h264_nal_units(data: bytes) -> list[bytes]:
    """Split Annex-B data into NAL units (without start codes)."""
    # bytes.find runs in C: a Python loop over every byte cost ~3 ms per 60 KB frame,
    # on the asyncio loop, for every H.264 frame.
    units: list[bytes] = []
    start = -1
    i = data.find(b"\x00\x00\x01")
    while i >= 0:
        if start >= 0 and i > start:
            units.append(data[start:i].rstrip(b"\x00"))
        start = i + 3
        i = data.find(b"\x00\x00\x01", start)
    if 0 <= start < len(data):
        units.append(data[start:])
    return [u for u in units if u]


def h264_nal_types(data: bytes) -> set[int]:
    return {unit[0] & 0x1F for unit in h264_nal_units(data)}


def h264_is_keyframe(data: bytes) -> bool:
    """An IDR picture: decodable on its own (given SPS/PPS)."""
    return H264_IDR in h264_nal_types(data)


def annexb(units: list[bytes]) -> bytes:
    return b"".join(b"\x00\x00\x00\x01" + unit for unit in units)


class _Bits:
    """Exp-Golomb reader over an RBSP (emulation prevention bytes removed)."""

    def __init__(self, data: bytes) -> None:
        self.data = data.replace(b"\x00\x00\x03", b"\x00\x00")
        self.pos = 0

    def bit(self) -> int:
        byte = self.data[self.pos >> 3]  # IndexError on truncated data
        value = (byte >> (7 - (self.pos & 7))) & 1
        self.pos += 1
        return value

    def bits(self, count: int) -> int:
        value = 0
        for _ in range(count):
            value = (value << 1) | self.bit()
        return value

    def ue(self) -> int:
        zeros = 0
        while self.bit() == 0:
            zeros += 1
            if zeros > 31:
                raise ValueError("bad exp-Golomb code")
        return (1 << zeros) - 1 + self.bits(zeros)

    def se(self) -> int:
        value = self.ue()
        return (value + 1) // 2 if value & 1 else -(value // 2)


def _skip_scaling_list(bits: _Bits, size: int) -> None:
    last = next_scale = 8
    for _ in range(size):
        if next_scale != 0:
            next_scale = (last + bits.se() + 256) % 256
        last = next_scale if next_scale != 0 else last


def h264_sps_size(sps: bytes) -> tuple[int, int] | None:
    """(width, height) from an SPS NAL unit (with its header byte); None if unparsable."""
    try:
        bits = _Bits(sps[1:])
        profile = bits.bits(8)
        bits.bits(16)  # constraint flags, level
        bits.ue()  # seq_parameter_set_id
        chroma_format = 1
        if profile in (100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135):
            chroma_format = bits.ue()
            if chroma_format == 3:
                bits.bit()  # separate_colour_plane_flag
            bits.ue()  # bit_depth_luma
            bits.ue()  # bit_depth_chroma
            bits.bit()  # qpprime_y_zero_transform_bypass
            if bits.bit():  # seq_scaling_matrix_present
                for i in range(8 if chroma_format != 3 else 12):
                    if bits.bit():
                        _skip_scaling_list(bits, 16 if i < 6 else 64)
        bits.ue()  # log2_max_frame_num
        poc_type = bits.ue()
        if poc_type == 0:
            bits.ue()
        elif poc_type == 1:
            bits.bit()
            bits.se()
            bits.se()
            for _ in range(bits.ue()):
                bits.se()
        bits.ue()  # max_num_ref_frames
        bits.bit()  # gaps_in_frame_num_allowed
        width_mbs = bits.ue() + 1
        height_units = bits.ue() + 1
        frame_mbs_only = bits.bit()
        if not frame_mbs_only:
            bits.bit()  # mb_adaptive_frame_field
        bits.bit()  # direct_8x8_inference
        width = width_mbs * 16
        height = height_units * 16 * (2 - frame_mbs_only)
        if bits.bit():  # frame_cropping
            left, right, top, bottom = bits.ue(), bits.ue(), bits.ue(), bits.ue()
            crop_x = 2 if chroma_format in (1, 2) else 1
            crop_y = (2 if chroma_format == 1 else 1) * (2 - frame_mbs_only)
            width -= (left + right) * crop_x
            height -= (top + bottom) * crop_y
        return (width, height) if width > 0 and height > 0 else None
    except (IndexError, ValueError):
        return None


class H264ParameterSets:
    """Remembers the latest SPS/PPS so a file can start on an IDR that lacks them."""

    def __init__(self) -> None:
        self.sps: bytes | None = None
        self.pps: bytes | None = None

    def update(self, data: bytes) -> None:
        for unit in h264_nal_units(data):
            kind = unit[0] & 0x1F
            if kind == H264_SPS:
                self.sps = unit
            elif kind == H264_PPS:
                self.pps = unit

    def complete_keyframe(self, data: bytes) -> bytes | None:
        """The IDR with SPS and PPS in front; None if they were never seen."""
        units = h264_nal_units(data)
        kinds = {u[0] & 0x1F for u in units}
        if H264_SPS in kinds and H264_PPS in kinds:
            return data
        if self.sps is None or self.pps is None:
            return None
        extra = [u for u, k in ((self.sps, H264_SPS), (self.pps, H264_PPS)) if k not in kinds]
        return annexb(extra + units)

    def size(self) -> tuple[int, int] | None:
        return None if self.sps is None else h264_sps_size(self.sps)


def opus_packet_samples(data: bytes, rate: int = 48000) -> int:
    """Samples (at 48 kHz) one Opus packet decodes to, from its TOC byte (RFC 6716 3.1)."""
    if not data:
        return 0
    toc = data[0]
    config = toc >> 3
    if config < 12:  # SILK: 10, 20, 40, 60 ms
        frame = (480, 960, 1920, 2880)[config & 3]
    elif config < 16:  # hybrid: 10, 20 ms
        frame = (480, 960)[config & 1]
    else:  # CELT: 2.5, 5, 10, 20 ms
        frame = (120, 240, 480, 960)[config & 3]
    code = toc & 3
    if code == 0:
        count = 1
    elif code in (1, 2):
        count = 2
    else:
        count = data[1] & 0x3F if len(data) > 1 else 1
    return frame * count * rate // 48000

"""A small WHIP client built on aiortc, for tests.

Typical use::

    async with WhipClient(f"{base}/whip/Alice", token=TOKEN) as guest:
        answer = await guest.publish()            # POST offer -> 201 + answer
        msg = await guest.wait_message(lambda m: m.get("type") == "recording")
    # leaving the block sends DELETE to the Location and closes the peer connection

- `tracks` defaults to a stereo test tone and a moving test pattern (`ToneTrack`,
  `PatternTrack`), cheap enough for a 2-core machine; pass `audio=False` or
  `video=False` to send less, or your own tracks.
- With `data_channel=True` (the default) the client opens the "guestrec" channel the guest
  page opens and collects the server's JSON messages in `messages`.
- `publish()` raises `WhipError(status, body, headers)` on any non-201 answer.
- No STUN servers are used unless `ice_servers` (aiortc RTCIceServers) are given, and
  aiortc gathers ICE before the offer is sent, as WHIP needs when no trickle is used.
- `post_raw()` sends any body with any headers, for tests of bad requests.
- `headers` adds request headers to the offer, e.g. `{"Guestrec-Resume": secret}` to come
  back after a dropped connection (`resume_secret` / `given_name` read the 201's).
"""

from __future__ import annotations

import asyncio
import fractions
import json
import math
import struct
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import unquote, urljoin

import aiohttp
import av
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack
from multidict import CIMultiDict

SAMPLE_RATE = 48000


class WhipError(Exception):
    def __init__(self, status: int, body: str, headers: CIMultiDict[str]) -> None:
        super().__init__(f"WHIP server answered {status}: {body[:200]}")
        self.status = status
        self.body = body
        self.headers = headers


class ToneTrack(MediaStreamTrack):
    """Stereo s16 sine tones, 20 ms frames: `left_hz` on the left, `right_hz` on the right."""

    kind = "audio"

    def __init__(self, left_hz: float = 440.0, right_hz: float = 660.0, level: float = 0.3) -> None:
        super().__init__()
        self._left_hz, self._right_hz, self._level = left_hz, right_hz, level
        self._samples = SAMPLE_RATE // 50
        self._pts = 0
        self._start: float | None = None

    def _pcm(self, first: int) -> bytes:
        peak = 32767 * self._level
        values = []
        for n in range(first, first + self._samples):
            t = n / SAMPLE_RATE
            values.append(int(peak * math.sin(2 * math.pi * self._left_hz * t)))
            values.append(int(peak * math.sin(2 * math.pi * self._right_hz * t)))
        return struct.pack(f"<{len(values)}h", *values)

    async def recv(self) -> av.AudioFrame:
        loop = asyncio.get_running_loop()
        if self._start is None:
            self._start = loop.time()
        # Pace like a microphone: one frame every 20 ms of wall time.
        wait = self._start + self._pts / SAMPLE_RATE - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        frame = av.AudioFrame(format="s16", layout="stereo", samples=self._samples)
        frame.planes[0].update(self._pcm(self._pts))
        frame.sample_rate = SAMPLE_RATE
        frame.pts = self._pts
        frame.time_base = fractions.Fraction(1, SAMPLE_RATE)
        self._pts += self._samples
        return frame


class PatternTrack(MediaStreamTrack):
    """A small yuv420p picture with a bar moving across, at `fps` frames per second."""

    kind = "video"

    def __init__(self, width: int = 320, height: int = 240, fps: int = 15) -> None:
        super().__init__()
        self._w, self._h, self._fps = width, height, fps
        self._count = 0
        self._start: float | None = None
        self._chroma = bytes([128]) * ((width // 2) * (height // 2))

    async def recv(self) -> av.VideoFrame:
        loop = asyncio.get_running_loop()
        if self._start is None:
            self._start = loop.time()
        wait = self._start + self._count / self._fps - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        bar = (self._count * 8) % self._w
        row = bytearray([40]) * self._w
        row[bar:bar + 16] = bytes([235]) * len(row[bar:bar + 16])
        frame = av.VideoFrame(self._w, self._h, "yuv420p")
        frame.planes[0].update(bytes(row) * self._h)
        frame.planes[1].update(self._chroma)
        frame.planes[2].update(self._chroma)
        frame.pts = self._count * (90000 // self._fps)
        frame.time_base = fractions.Fraction(1, 90000)
        self._count += 1
        return frame


async def post_raw(
    url: str, body: Any, headers: dict[str, str] | None = None, method: str = "POST", ssl: Any = True
) -> tuple[int, str, CIMultiDict[str]]:
    """Send one request and return (status, body text, case-insensitive headers).

    `body` may be bytes, str, or an async iterator of bytes (sent chunked).
    """
    async with aiohttp.ClientSession() as http:
        async with http.request(method, url, data=body, headers=headers or {}, ssl=ssl) as resp:
            return resp.status, await resp.text(errors="replace"), CIMultiDict(resp.headers)


class WhipClient:
    """One publishing guest. See the module docstring."""

    def __init__(
        self,
        url: str,
        token: str | None = None,
        tracks: Iterable[MediaStreamTrack] | None = None,
        *,
        audio: bool = True,
        video: bool = True,
        data_channel: bool = True,
        token_in_query: bool = False,
        ice_servers: list[Any] | None = None,
        ssl: Any = True,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.url = url
        self.extra_headers = dict(headers or {})
        self.token = token
        self.token_in_query = token_in_query
        if tracks is None:
            tracks = ([ToneTrack()] if audio else []) + ([PatternTrack()] if video else [])
        self.tracks = list(tracks)
        self.ssl = ssl  # an SSLContext trusting the studio's certificate, for https
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=ice_servers or []))
        self.messages: list[dict[str, Any]] = []
        self._message_event = asyncio.Event()
        self.channel = None
        if data_channel:
            self.channel = self.pc.createDataChannel("guestrec")
            self.channel.on("message", self._on_message)
        self.status: int | None = None
        self.location: str | None = None
        self.etag: str | None = None
        self.headers: CIMultiDict[str] = CIMultiDict()
        self.answer_sdp: str | None = None
        self.offer_sdp: str | None = None

    def _on_message(self, data: str | bytes) -> None:
        try:
            message = json.loads(data)
        except (TypeError, ValueError):
            message = {"type": "unparsed", "data": repr(data)}
        self.messages.append(message)
        self._message_event.set()

    def _auth(self) -> tuple[str, dict[str, str]]:
        headers = {"Content-Type": "application/sdp", **self.extra_headers}
        url = self.url
        if self.token is not None:
            if self.token_in_query:
                url += ("&" if "?" in url else "?") + "token=" + self.token
            else:
                headers["Authorization"] = f"Bearer {self.token}"
        return url, headers

    async def publish(self) -> str:
        """Send the offer; on 201 apply the answer and return its SDP."""
        for track in self.tracks:
            self.pc.addTransceiver(track, direction="sendonly")
        await self.pc.setLocalDescription(await self.pc.createOffer())
        self.offer_sdp = self.pc.localDescription.sdp
        url, headers = self._auth()
        status, body, resp_headers = await post_raw(url, self.offer_sdp, headers, ssl=self.ssl)
        self.status, self.headers = status, resp_headers
        if status != 201:
            raise WhipError(status, body, resp_headers)
        self.location = urljoin(self.url, resp_headers["Location"])
        self.etag = resp_headers.get("ETag")
        self.answer_sdp = body
        await self.pc.setRemoteDescription(RTCSessionDescription(body, "answer"))
        return body

    @property
    def resume_secret(self) -> str | None:
        return self.headers.get("Guestrec-Resume")

    @property
    def given_name(self) -> str | None:
        name = self.headers.get("Guestrec-Name")
        return unquote(name) if name is not None else None

    async def wait_connected(self, timeout: float = 10.0) -> None:
        async def poll() -> None:
            while self.pc.connectionState != "connected":
                if self.pc.connectionState in ("failed", "closed"):
                    raise ConnectionError(f"peer connection {self.pc.connectionState}")
                await asyncio.sleep(0.05)

        await asyncio.wait_for(poll(), timeout)

    async def wait_message(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 10.0
    ) -> dict[str, Any]:
        """The first server message (seen so far or still to come) that satisfies predicate."""

        async def find() -> dict[str, Any]:
            seen = 0
            while True:
                for message in self.messages[seen:]:
                    if predicate(message):
                        return message
                seen = len(self.messages)
                self._message_event.clear()
                await self._message_event.wait()

        return await asyncio.wait_for(find(), timeout)

    async def delete(self) -> int | None:
        """DELETE the session resource; returns the status, None if never published."""
        if not self.location:
            return None
        _url, headers = self._auth()
        headers.pop("Content-Type", None)
        location = self.location + "?token=" + (self.token or "") if self.token_in_query else self.location
        status, _, _ = await post_raw(location, b"", headers, method="DELETE", ssl=self.ssl)
        self.location = None
        return status

    async def close(self) -> None:
        try:
            await self.delete()
        finally:
            for track in self.tracks:
                track.stop()
            await self.pc.close()

    async def __aenter__(self) -> WhipClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

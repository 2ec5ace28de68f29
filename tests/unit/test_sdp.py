"""SDP answer tuning and offer inspection, on hand-written SDP and on real aiortc SDP."""

from __future__ import annotations

import asyncio

import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack

from guestrec.common.plan import make_plan
from guestrec.webrtc import sdp

ANSWER = (
    "v=0\r\n"
    "o=- 1 1 IN IP4 0.0.0.0\r\n"
    "s=-\r\n"
    "t=0 0\r\n"
    "a=group:BUNDLE 0 1\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111 0\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=mid:0\r\n"
    "a=recvonly\r\n"
    "a=rtpmap:111 opus/48000/2\r\n"
    "a=fmtp:111 minptime=10;useinbandfec=1;stereo=0;maxaveragebitrate=20000\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 96\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "b=AS:50\r\n"
    "a=mid:1\r\n"
    "a=recvonly\r\n"
    "a=rtpmap:96 VP8/90000\r\n"
)


def test_opus_fmtp_is_replaced_and_other_keys_kept() -> None:
    plan = make_plan(6000)
    tuned = sdp.tune_answer(ANSWER, plan)
    line = next(x for x in tuned.split("\r\n") if x.startswith("a=fmtp:111"))
    assert line == (
        "a=fmtp:111 minptime=10;useinbandfec=1;stereo=1;maxaveragebitrate=128000;sprop-stereo=1"
    )
    assert sdp.fmtp_params(tuned, "opus") == [
        {"minptime": "10", "useinbandfec": "1", "stereo": "1",
         "maxaveragebitrate": "128000", "sprop-stereo": "1"}
    ]
    # Line ends stay CRLF and nothing but the tuned lines changed.
    assert tuned.endswith("\r\n") and "\n" not in tuned.replace("\r\n", "")
    assert "a=rtpmap:0 PCMU/8000" in tuned


def test_video_bandwidth_follows_c_line_and_replaces_old_values() -> None:
    tuned = sdp.tune_answer(ANSWER, make_plan(2500))
    lines = tuned.split("\r\n")
    video = lines.index("m=video 9 UDP/TLS/RTP/SAVPF 96")
    assert lines[video + 1].startswith("c=")
    assert lines[video + 2:video + 4] == ["b=AS:2500", "b=TIAS:2500000"]
    assert sdp.bandwidth_lines(tuned, "video") == ["b=AS:2500", "b=TIAS:2500000"]
    assert sdp.bandwidth_lines(tuned, "audio") == []
    # 2500 kbps video asks the guest for 80 kbps Opus (spec threshold table).
    assert sdp.fmtp_params(tuned, "opus")[0]["maxaveragebitrate"] == "80000"


def test_audio_only_plans_touch_no_video_and_use_their_own_bitrate() -> None:
    for record, bps in ((0, 256000), (-120, 120000)):
        tuned = sdp.tune_answer(ANSWER, make_plan(record))
        assert sdp.bandwidth_lines(tuned, "video") == ["b=AS:50"]  # left as it was
        assert sdp.fmtp_params(tuned, "opus")[0]["maxaveragebitrate"] == str(bps)


def test_missing_fmtp_is_added_after_rtpmap() -> None:
    answer = ANSWER.replace(
        "a=fmtp:111 minptime=10;useinbandfec=1;stereo=0;maxaveragebitrate=20000\r\n", ""
    )
    tuned = sdp.tune_answer(answer, make_plan(1000))
    lines = tuned.split("\r\n")
    at = lines.index("a=rtpmap:111 opus/48000/2")
    assert lines[at + 1] == "a=fmtp:111 stereo=1;sprop-stereo=1;maxaveragebitrate=32000"


def test_tune_fmtp_drops_duplicate_keys() -> None:
    assert sdp.tune_opus_fmtp("stereo=0;STEREO=0; useinbandfec=1", 64000) == (
        "stereo=1;useinbandfec=1;sprop-stereo=1;maxaveragebitrate=64000"
    )


@pytest.mark.parametrize(
    "text, words",
    [
        ("", "empty"),
        ("hello world", "v=0"),
        ("v=0\r\nthis is not sdp\r\n", "line 2"),
        ("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n", "no audio or video"),
        ("v=0\r\nm=audio x RTP/AVP 0\r\n", "malformed media line"),
        (
            ("v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0 9\r\na=sendonly\r\n"
             "a=rtpmap:0 PCMU/8000\r\na=rtpmap:9 G722/8000\r\n"
             "m=video 9 UDP/TLS/RTP/SAVPF 98 45\r\na=sendonly\r\n"
             "a=rtpmap:98 VP9/90000\r\na=rtpmap:45 AV1/90000\r\n"),
            "offered: av1, g722, pcmu, vp9",
        ),
        (
            "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=recvonly\r\na=rtpmap:111 opus/48000/2\r\n",
            "sends no audio or video",
        ),
        (
            "v=0\r\nm=audio 0 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\n",
            "sends no audio or video",
        ),
    ],
)
def test_offer_problems_are_named(text: str, words: str) -> None:
    problem = sdp.offer_problem(text)
    assert problem is not None and words in problem


def test_offer_with_too_many_sections_is_refused() -> None:
    section = "m=audio 9 UDP/TLS/RTP/SAVPF 111\na=sendonly\na=rtpmap:111 opus/48000/2\n"
    assert sdp.offer_problem("v=0\n" + section * sdp.MAX_SECTIONS) is None
    problem = sdp.offer_problem("v=0\n" + section * 1000)
    assert problem is not None and "1000 media sections" in problem


def test_h264_only_video_and_opus_only_audio_are_fine() -> None:
    video = "v=0\nm=video 9 UDP/TLS/RTP/SAVPF 102\na=sendonly\na=rtpmap:102 H264/90000\n"
    audio = "v=0\nm=audio 9 UDP/TLS/RTP/SAVPF 111\na=rtpmap:111 OPUS/48000/2\n"
    assert sdp.offer_problem(video) is None
    assert sdp.offer_problem(audio) is None  # no direction attribute means sendrecv
    assert sdp.parse_media(video)[0].receivable() == ["h264"]


def test_session_level_direction_applies_to_sections() -> None:
    text = "v=0\na=recvonly\nm=audio 9 UDP/TLS/RTP/SAVPF 111\na=rtpmap:111 opus/48000/2\n"
    assert "sends no" in (sdp.offer_problem(text) or "")


def test_real_aiortc_offer_and_answer() -> None:
    """A real offer passes inspection; the tuned real answer is still accepted by aiortc."""

    async def run() -> tuple[str, str, str]:
        guest, server = RTCPeerConnection(), RTCPeerConnection()
        try:
            guest.addTrack(AudioStreamTrack())
            guest.addTrack(VideoStreamTrack())
            await guest.setLocalDescription(await guest.createOffer())
            offer = guest.localDescription.sdp
            await server.setRemoteDescription(RTCSessionDescription(offer, "offer"))
            await server.setLocalDescription(await server.createAnswer())
            answer = server.localDescription.sdp
            tuned = sdp.tune_answer(answer, make_plan(4000))
            await guest.setRemoteDescription(RTCSessionDescription(tuned, "answer"))
            return offer, answer, tuned
        finally:
            await guest.close()
            await server.close()

    offer, answer, tuned = asyncio.run(run())
    assert sdp.offer_problem(offer) is None
    kinds = [s.kind for s in sdp.parse_media(offer)]
    assert kinds == ["audio", "video"]
    assert set(sdp.parse_media(offer)[1].receivable()) == {"vp8", "h264"}
    assert all(p["stereo"] == "1" and p["sprop-stereo"] == "1" for p in sdp.fmtp_params(tuned, "opus"))
    assert {p["maxaveragebitrate"] for p in sdp.fmtp_params(tuned, "opus")} == {"128000"}
    assert sdp.bandwidth_lines(tuned, "video") == ["b=AS:4000", "b=TIAS:4000000"]
    assert sdp.bandwidth_lines(answer, "video") == []

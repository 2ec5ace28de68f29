"""Build the replay clips and print their real bitrates (a check of the benchmark input)."""

import time

from replay import opus_clip, video_clip

start = time.perf_counter()
video = video_clip()
audio = opus_clip()
v_bits = sum(len(p) for p in video.packets) * 8
a_bits = sum(len(p) for p in audio.packets) * 8
print(f"video: {len(video.packets)} frames, {v_bits / (len(video.packets) / 30) / 1000:.0f} kbps, "
      f"keyframes at {video.keyframe_indexes}")
print(f"audio: {len(audio.packets)} packets, {a_bits / (len(audio.packets) / 50) / 1000:.0f} kbps")
print(f"built in {time.perf_counter() - start:.1f} s")

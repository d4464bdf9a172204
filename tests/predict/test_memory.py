"""A long recording streams through prediction: peak memory does not grow with the video's length.

A subprocess first predicts the short test conversation (so every model, extractor and buffer is loaded),
then a generated 6-minute video (speech bursts, low-resolution frames written one by one, no
transcript: voice-activity segmentation, speaker diarization, audio and face extraction, windowed model). Its peak resident
memory, and the peak of traced (Python and numpy) allocations during it, stay far below what the long video's
decoded audio alone would take if it were loaded whole.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np

from tests.clips import write_clip
from tests.conftest import REPO
from tests.features.conftest import _speech

MINUTES = 6
PERIOD = 10.0  # one 1.5 s utterance every 10 s
SCRIPT = """
import json, resource, sys, tracemalloc
from multiemo.predict import Predictor
from multiemo.predict.inputs import from_video
from multiemo.predict.segmentation import SegmentationConfig

def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB

predictor = Predictor(sys.argv[1], device="cpu", window=32, context=8, progress=False)
# The bursts are RAVDESS speech, in which silero-vad finds no speech: the energy rule cuts them; diarization runs.
energy = SegmentationConfig(vad="energy")
# Twice: the speaker encoder's second call takes a one-off ~30 MiB (kernel and allocator warm-up), the same for
# a 7-second and a 6-minute recording; after it, memory no longer moves.
for _ in range(2):
    short = predictor.predict(from_video(sys.argv[2], segmentation=energy, progress=False))
warm = peak_mb()
tracemalloc.start()  # numpy buffers are traced too: a whole decoded track would show here
long = predictor.predict(from_video(sys.argv[3], segmentation=energy, progress=False))
traced = tracemalloc.get_traced_memory()[1] / 2**20
long_mb = peak_mb()
# The instrument's check: decoding the whole track at once, as a non-streaming path would, is seen.
from multiemo.features.media import decode_audio
tracemalloc.reset_peak()
decode_audio(sys.argv[3], sample_rate=16000)
whole = tracemalloc.get_traced_memory()[1] / 2**20
print(json.dumps({"warm_mb": warm, "long_mb": long_mb, "traced_peak_mb": traced, "traced_whole_decode_mb": whole,
                  "utterances": len(long.table),
                  "visual": long.counts["visual"], "audio": long.counts["audio"],
                  "speaker": long.counts["speaker"], "diarization": long.info["diarization"]}))
"""


def long_video(path, seconds: float, sample_rate: int = 16000, fps: int = 2):
    """Speech bursts every PERIOD s; 64x48 frames generated one at a time (never all in memory)."""
    speech = _speech()[: round(1.5 * sample_rate)]
    audio = np.zeros(round(seconds * sample_rate), dtype=np.float32)
    for start in np.arange(0.5, seconds - 2, PERIOD):
        lo = round(start * sample_rate)
        audio[lo : lo + len(speech)] = speech
    frames = (np.full((48, 64, 3), (i * 7) % 255, np.uint8) for i in range(round(seconds * fps)))
    return write_clip(path, frames=frames, fps=fps, audio=audio, sample_rate=sample_rate)


def test_peak_memory_does_not_grow_with_video_length(trained_run, talk, tmp_path):
    seconds = MINUTES * 60
    video = long_video(tmp_path / "long.mp4", seconds)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
           "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(trained_run), str(talk["video"]), str(video)],
                          capture_output=True, text=True, env=env, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["utterances"] == len(np.arange(0.5, seconds - 2, PERIOD))
    assert result["audio"] == {"ok": result["utterances"]}
    assert result["diarization"]["used"] and sum(result["speaker"].values()) == result["utterances"]
    whole_audio_mb = seconds * 16000 * 4 / 2**20  # float32 mono at 16 kHz: 22 MiB for 6 minutes
    growth = result["long_mb"] - result["warm_mb"]
    print(f"peak RSS {result['warm_mb']:.0f} MiB after the short video, {result['long_mb']:.0f} MiB after "
          f"{MINUTES} min ({result['utterances']} utterances): +{growth:.1f} MiB; traced Python/numpy peak "
          f"{result['traced_peak_mb']:.1f} MiB; the decoded audio alone would be {whole_audio_mb:.1f} MiB")
    assert result["traced_whole_decode_mb"] > 0.9 * whole_audio_mb
    assert growth < whole_audio_mb / 3
    assert result["traced_peak_mb"] < whole_audio_mb / 4

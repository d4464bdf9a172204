"""Render one planned utterance into a MELD-style clip: espeak-ng speech and a face video, H.264 + AAC mp4.

Rendering is the only impure step of the generator (it runs espeak-ng and libx264), and it is
deterministic for a given plan, espeak-ng version and PyAV/FFmpeg build.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import wave
from fractions import Fraction
from pathlib import Path
from xml.sax.saxutils import escape

import av
import numpy as np
from scipy.signal import lfilter

from .faces import TILE, emotional_face
from .plan import UtterancePlan

WIDTH, HEIGHT = 320, 240
SAMPLE_RATE = 22050  # espeak-ng's native rate; kept so no resampler enters the generator
AUDIO_BITRATE = 32_000
VIDEO_CRF = 30
_LEAD_S = 0.1  # silence before speech starts
_FADE_S = 0.04  # fade-out applied where speech is cut at the clip end
_SILENCE = 200  # int16 level below which espeak-ng's padding counts as silence


class EspeakMissingError(RuntimeError):
    """espeak-ng is needed to generate the corpus (not to use it)."""


def espeak_version() -> str:
    """``espeak-ng --version`` without the data path, e.g. ``eSpeak NG text-to-speech: 1.51``.

    Regenerating the corpus byte for byte needs the same version.
    """
    first_line = _run([_espeak(), "--version"]).stdout.decode().strip().splitlines()[0]
    return first_line.split("  Data at:")[0].strip()


def render_clip(plan: UtterancePlan, path: Path, *, fps: int) -> None:
    """Write ``plan``'s clip to ``path`` (not atomically: the caller renders into a temporary folder)."""
    n_frames = round(plan.duration * fps)
    n_samples = round(plan.duration * SAMPLE_RATE)
    speech = _fit(synthesize(plan), n_samples)
    frames = _frames(plan, n_frames, fps)
    _write_mp4(path, frames, speech, fps)


def synthesize(plan: UtterancePlan) -> np.ndarray:
    """Speak ``plan.text`` with the planned voice, prosody and voice quality.

    Returns:
        (samples,) int16 mono at :data:`SAMPLE_RATE`, leading and trailing silence removed.
    """
    ssml = f'<speak><prosody range="{plan.pitch_range}%">{escape(plan.text)}</prosody></speak>'
    with tempfile.TemporaryDirectory(prefix="multiemo-espeak-") as tmp:
        wav = Path(tmp) / "speech.wav"
        _run(
            [
                _espeak(),
                "-v", plan.voice,
                "-p", str(plan.pitch),
                "-s", str(plan.speed),
                "-a", str(plan.amplitude),
                "-g", str(plan.word_gap),
                "-m",
                "-w", str(wav),
                ssml,
            ]
        )  # fmt: skip
        with wave.open(str(wav), "rb") as handle:
            if handle.getframerate() != SAMPLE_RATE or handle.getnchannels() != 1:
                raise RuntimeError(
                    f"espeak-ng wrote {handle.getframerate()} Hz x {handle.getnchannels()} channels"
                )
            samples = np.frombuffer(handle.readframes(handle.getnframes()), dtype="<i2")
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > _SILENCE)
    samples = samples[loud[0] : loud[-1] + 1] if loud.size else samples[:0]
    return _voice_quality(samples, tilt=plan.tilt, drive=plan.drive)


def _voice_quality(samples: np.ndarray, *, tilt: float, drive: float) -> np.ndarray:
    """Tilt the spectrum (loudness kept) and soft-clip: the tense, lax or harsh voice of an emotion."""
    x = samples.astype(np.float64) / 32768.0
    rms = np.sqrt(np.mean(x**2)) if x.size else 0.0
    if tilt > 0:  # first-order pre-emphasis: more energy above 1 kHz
        x = lfilter([1.0, -0.9 * tilt], [1.0], x)
    elif tilt < 0:  # one-pole low-pass: a muffled voice
        a = -0.85 * tilt
        x = lfilter([1.0 - a], [1.0, -a], x)
    if tilt != 0 and rms > 0:
        x *= rms / np.sqrt(np.mean(x**2))
    if drive > 0:
        x = np.tanh(drive * x) / np.tanh(drive)
    return np.round(np.clip(x, -1.0, 32767 / 32768) * 32768).astype(np.int16)


def _fit(speech: np.ndarray, n_samples: int) -> np.ndarray:
    """Place speech after a short lead in a clip of ``n_samples``; cut with a fade if it runs over."""
    out = np.zeros(n_samples, dtype=np.int16)
    lead = round(_LEAD_S * SAMPLE_RATE)
    room = n_samples - lead
    if speech.size > room:
        speech = speech[:room].astype(np.float64)
        fade = min(room, round(_FADE_S * SAMPLE_RATE))
        speech[room - fade :] *= np.linspace(1.0, 0.0, fade)
        speech = np.round(speech).astype(np.int16)
    out[lead : lead + speech.size] = speech
    return out


def _frames(plan: UtterancePlan, n_frames: int, fps: int) -> list[np.ndarray]:
    """The speaker's face on a two-tone set, swaying a few pixels. Returns (H, W, 3) uint8 frames."""
    face = np.round(emotional_face(plan.face, plan.visual_cue, plan.face_strength, plan.light) * 255)
    face = face.astype(np.uint8)
    wall = np.asarray([int(plan.background[i : i + 2], 16) for i in (1, 3, 5)], dtype=np.float64)
    stage = np.empty((HEIGHT, WIDTH, 3), dtype=np.uint8)
    stage[:] = wall.astype(np.uint8)
    stage[int(HEIGHT * 0.72) :] = (wall * 0.55).astype(np.uint8)  # a sofa-coloured band, for texture
    x0, y0 = (WIDTH - TILE) // 2, (HEIGHT - TILE) // 2 - 10
    frames = []
    for i in range(n_frames):
        t = i / fps
        dx = round(3 * np.sin(2 * np.pi * t / 1.7 + plan.motion_phase))
        dy = round(2 * np.sin(2 * np.pi * t / 1.1 + plan.motion_phase))
        frame = stage.copy()
        frame[y0 + dy : y0 + dy + TILE, x0 + dx : x0 + dx + TILE] = face
        frames.append(frame)
    return frames


def _write_mp4(path: Path, frames: list[np.ndarray], speech: np.ndarray, fps: int) -> None:
    # bitexact keeps the FFmpeg version string out of the file, so rebuilds compare equal.
    with av.open(str(path), "w", format="mp4", options={"fflags": "+bitexact"}) as container:
        video = container.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        video.options = {"crf": str(VIDEO_CRF), "preset": "medium", "threads": "1"}
        video.codec_context.flags |= av.codec.context.Flags.bitexact
        audio = container.add_stream("aac", rate=SAMPLE_RATE, layout="mono")
        audio.bit_rate = AUDIO_BITRATE
        audio.codec_context.flags |= av.codec.context.Flags.bitexact

        for frame in frames:
            container.mux(video.encode(av.VideoFrame.from_ndarray(rgb_to_yuv420p(frame), format="yuv420p")))
        container.mux(video.encode())

        chunk = 1024
        for start in range(0, speech.size, chunk):
            block = speech[None, start : start + chunk]
            aframe = av.AudioFrame.from_ndarray(np.ascontiguousarray(block), format="s16", layout="mono")
            aframe.sample_rate, aframe.pts, aframe.time_base = SAMPLE_RATE, start, Fraction(1, SAMPLE_RATE)
            container.mux(audio.encode(aframe))
        container.mux(audio.encode())


def rgb_to_yuv420p(frame: np.ndarray) -> np.ndarray:
    """BT.601 limited-range conversion done here rather than by swscale, whose SIMD paths can round
    differently from run to run (they depend on buffer alignment) and so break byte-exact rebuilds.

    Args:
        frame: (H, W, 3) uint8 RGB, H and W even.

    Returns:
        (H * 3 // 2, W) uint8: the Y plane, then the U and V planes (each H/2 x W/2) stacked as rows.
    """
    height, width, _ = frame.shape
    rgb = frame.astype(np.float64)
    y = 16.0 + rgb @ np.array([65.481, 128.553, 24.966]) / 255.0  # (H, W)
    # Chroma from the 2x2 mean of RGB, as a 4:2:0 encoder would see it.
    quad = rgb.reshape(height // 2, 2, width // 2, 2, 3).mean(axis=(1, 3))  # (H/2, W/2, 3)
    u = 128.0 + quad @ np.array([-37.797, -74.203, 112.0]) / 255.0
    v = 128.0 + quad @ np.array([112.0, -93.786, -18.214]) / 255.0
    planes = [np.clip(np.round(p), 0, 255).astype(np.uint8) for p in (y, u, v)]
    chroma = np.concatenate([planes[1].reshape(height // 4, width), planes[2].reshape(height // 4, width)])
    return np.concatenate([planes[0], chroma])


def _espeak() -> str:
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise EspeakMissingError(
            "espeak-ng is not installed; generating the demo corpus needs it "
            "(Debian/Ubuntu: apt-get install espeak-ng). Using the committed corpus does not."
        )
    return exe


def _run(cmd: list[str]) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(cmd, check=True, capture_output=True)
    except subprocess.CalledProcessError as err:
        raise RuntimeError(
            f"{cmd[0]} failed ({err.returncode}): {err.stderr.decode(errors='replace')}"
        ) from err

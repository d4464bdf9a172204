"""Plan the demo corpus: every label, sentence and cue parameter, drawn from one seed, with no media.

Planning is a pure function of the :class:`CorpusSpec`, so the cue table can be tested and inspected
without synthesising a sound; :mod:`.render` turns each :class:`UtterancePlan` into a clip.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace

import numpy as np
import pandas as pd

from .cues import (
    CHARACTERS,
    EMOTION_PRIOR,
    EMOTIONS,
    FACE_LIGHT_JITTER,
    FACE_STRENGTH_MAX,
    FACE_STRENGTH_MIN,
    RELIABILITY,
    REVEALING,
    SENTIMENT,
    VOICE_CUES,
    VOICE_JITTER,
)

# MELD's raw release: split name -> (annotation CSV, clip folder).
MELD_SPLITS: dict[str, tuple[str, str]] = {
    "train": ("train_sent_emo.csv", "train_splits"),
    "dev": ("dev_sent_emo.csv", "dev_splits_complete"),
    "test": ("test_sent_emo.csv", "output_repeated_splits_test"),
}
# MELD writes some hours with one digit ("0:10:44,769"); one dev dialogue does too, so readers meet it.
SHORT_HOUR_DIALOGUE: tuple[str, int] = ("dev", 3)


@dataclass(frozen=True)
class CorpusSpec:
    """Size and randomness of the demo corpus.

    Attributes:
        seed: the one seed everything is drawn from.
        dialogues: number of dialogues per split.
        utterances: inclusive (min, max) utterances per dialogue.
        speakers: inclusive (min, max) speakers per dialogue.
        mood_persistence: probability that a speaker keeps their previous emotion in the next turn
            (the dialogue-context effect that a context model can exploit).
        duration: inclusive (min, max) clip length in seconds.
        fps: video frame rate.
    """

    seed: int = 20230709
    dialogues: dict[str, int] = field(default_factory=lambda: {"train": 40, "dev": 8, "test": 12})
    utterances: tuple[int, int] = (4, 8)
    speakers: tuple[int, int] = (2, 3)
    mood_persistence: float = 0.6
    duration: tuple[float, float] = (1.5, 2.5)
    fps: int = 12

    def __post_init__(self) -> None:
        if set(self.dialogues) != set(MELD_SPLITS):
            raise ValueError(
                f"dialogues must name exactly {sorted(MELD_SPLITS)}, got {sorted(self.dialogues)}"
            )
        if not 2 <= self.speakers[0] <= self.speakers[1] <= len(CHARACTERS):
            raise ValueError(f"speakers={self.speakers} must lie within 2..{len(CHARACTERS)}")
        if not 1 <= self.utterances[0] <= self.utterances[1]:
            raise ValueError(f"utterances={self.utterances} must be an increasing pair of positive counts")
        if not 0.0 <= self.mood_persistence <= 1.0:
            raise ValueError(f"mood_persistence={self.mood_persistence} is not a probability")


@dataclass(frozen=True)
class UtterancePlan:
    """One row of the cue table: the labels MELD's CSV carries, plus what each channel shows.

    ``*_cue`` columns name the emotion whose cue the channel carries; it equals ``emotion`` only when
    that channel is reliable for this utterance. ``fate`` is ``ok``, ``missing`` (listed, no file) or
    ``corrupt`` (a few random bytes named ``.mp4``).
    """

    split: str
    dialogue_id: int
    utterance_id: int
    speaker: str
    emotion: str
    sentiment: str
    season: int
    episode: int
    start_ms: int
    end_ms: int
    text: str
    text_cue: str
    audio_cue: str
    visual_cue: str
    voice: str
    pitch: int
    speed: int
    amplitude: int
    word_gap: int
    pitch_range: int
    tilt: float
    drive: float
    face: str
    face_strength: float
    light: float
    background: str
    motion_phase: float
    fate: str
    clip: str

    @property
    def duration(self) -> float:
        """Clip length in seconds."""
        return (self.end_ms - self.start_ms) / 1000.0


def plan_corpus(spec: CorpusSpec) -> list[UtterancePlan]:
    """Draw the whole corpus (all splits) from ``spec.seed``.

    Returns:
        Utterances in split order (train, dev, test), then dialogue and utterance order.
    """
    rng = np.random.default_rng(spec.seed)
    plans: list[UtterancePlan] = []
    for split in MELD_SPLITS:
        for dialogue_id in range(spec.dialogues[split]):
            plans.extend(_plan_dialogue(rng, spec, split, dialogue_id))
    return _assign_fates(rng, plans)


def cue_table(plans: list[UtterancePlan]) -> pd.DataFrame:
    """The plan as a data frame, one row per utterance, columns in :class:`UtterancePlan` order."""
    return pd.DataFrame([asdict(p) for p in plans], columns=[f.name for f in fields(UtterancePlan)])


def _plan_dialogue(
    rng: np.random.Generator, spec: CorpusSpec, split: str, dialogue_id: int
) -> list[UtterancePlan]:
    n_utt = int(rng.integers(spec.utterances[0], spec.utterances[1] + 1))
    n_spk = int(rng.integers(spec.speakers[0], spec.speakers[1] + 1))
    cast = [CHARACTERS[i] for i in rng.choice(len(CHARACTERS), size=n_spk, replace=False)]
    season, episode = int(rng.integers(1, 11)), int(rng.integers(1, 25))
    background = "#{:02x}{:02x}{:02x}".format(*(int(c) for c in rng.integers(40, 200, size=3)))
    clock_ms = int(rng.integers(30_000, 20 * 60_000))

    moods: dict[str, str] = {}
    speaker_idx, plans = -1, []
    for utterance_id in range(n_utt):
        # Turn-taking: mostly a new speaker, sometimes the same one goes on.
        if speaker_idx < 0 or rng.random() < 0.8:
            others = [i for i in range(n_spk) if i != speaker_idx]
            speaker_idx = int(rng.choice(others))
        character = cast[speaker_idx]
        if character.name not in moods or rng.random() >= spec.mood_persistence:
            moods[character.name] = _draw_emotion(rng)
        emotion = moods[character.name]

        cues = {m: _draw_cue(rng, m, emotion) for m in RELIABILITY}
        text = str(rng.choice(REVEALING[cues["text"]]))
        voice = VOICE_CUES[cues["audio"]]
        pitch = voice.pitch + character.pitch_offset + rng.uniform(-1, 1) * VOICE_JITTER.pitch
        speed = voice.speed + rng.uniform(-1, 1) * VOICE_JITTER.speed
        amplitude = voice.amplitude + rng.uniform(-1, 1) * VOICE_JITTER.amplitude
        gap = voice.word_gap + int(rng.integers(-VOICE_JITTER.word_gap, VOICE_JITTER.word_gap + 1))
        pitch_range = voice.pitch_range + rng.uniform(-1, 1) * VOICE_JITTER.pitch_range
        tilt = voice.tilt + rng.uniform(-1, 1) * VOICE_JITTER.tilt
        drive_jitter = rng.uniform(-1, 1) * VOICE_JITTER.drive
        drive = voice.drive + drive_jitter if voice.drive > 0 else 0.0
        duration_ms = _clip_duration_ms(spec, text, speed, gap)

        start_ms = clock_ms + int(rng.integers(100, 900))
        clock_ms = start_ms + duration_ms
        plans.append(
            UtterancePlan(
                split=split,
                dialogue_id=dialogue_id,
                utterance_id=utterance_id,
                speaker=character.name,
                emotion=emotion,
                sentiment=SENTIMENT[emotion],
                season=season,
                episode=episode,
                start_ms=start_ms,
                end_ms=clock_ms,
                text=text,
                text_cue=cues["text"],
                audio_cue=cues["audio"],
                visual_cue=cues["visual"],
                voice=character.voice,
                pitch=int(np.clip(round(pitch), 0, 99)),
                speed=round(speed),
                amplitude=int(max(10, round(amplitude))),
                word_gap=max(0, gap),
                pitch_range=int(max(5, round(pitch_range))),
                tilt=round(float(np.clip(tilt, -0.95, 0.95)), 3),
                drive=round(float(drive), 3),
                face=character.face,
                face_strength=round(float(rng.uniform(FACE_STRENGTH_MIN, FACE_STRENGTH_MAX)), 3),
                light=round(float(rng.uniform(-1, 1) * FACE_LIGHT_JITTER), 3),
                background=background,
                motion_phase=round(float(rng.uniform(0, 2 * np.pi)), 3),
                fate="ok",
                clip=f"{MELD_SPLITS[split][1]}/dia{dialogue_id}_utt{utterance_id}.mp4",
            )
        )
    return plans


def _draw_emotion(rng: np.random.Generator) -> str:
    return str(rng.choice(EMOTIONS, p=[EMOTION_PRIOR[e] for e in EMOTIONS]))


def _draw_cue(rng: np.random.Generator, modality: str, emotion: str) -> str:
    """The emotion whose cue a channel shows: the true one; when off, a blank (neutral) or misleading one."""
    reliability = RELIABILITY[modality]
    if rng.random() < reliability.p_true:
        return emotion
    if rng.random() < reliability.p_neutral_when_off:
        return "neutral"  # the channel gives nothing away (for a neutral utterance, that is the truth)
    return str(rng.choice([e for e in EMOTIONS if e not in (emotion, "neutral")]))


def _clip_duration_ms(spec: CorpusSpec, text: str, speed: float, word_gap: int) -> int:
    """Clip length from a linear fit of espeak-ng's speech length; whole frames, within spec.duration."""
    n_words = len(text.split())
    speech = (0.5 + 0.04 * len(text)) * 175.0 / speed + 0.01 * word_gap * (n_words - 1)
    seconds = float(np.clip(speech + 0.25, *spec.duration))
    frames = round(seconds * spec.fps)
    return round(1000 * frames / spec.fps)


def _assign_fates(rng: np.random.Generator, plans: list[UtterancePlan]) -> list[UtterancePlan]:
    """Mark one train clip missing and another corrupt, so a pipeline's fallbacks get exercised."""
    train = [i for i, p in enumerate(plans) if p.split == "train"]
    missing, corrupt = (int(i) for i in rng.choice(train, size=2, replace=False))
    out = list(plans)
    out[missing] = replace(out[missing], fate="missing")
    out[corrupt] = replace(out[corrupt], fate="corrupt")
    return out

"""What each emotion looks, sounds and reads like in the demo corpus: the fixed design, no randomness.

The planner (:mod:`.plan`) draws from these tables; the renderer turns the drawn numbers into
media. Keeping the design here, as plain data, lets the corpus README and the tests point at one place.
"""

from __future__ import annotations

from dataclasses import dataclass

EMOTIONS: tuple[str, ...] = ("neutral", "joy", "sadness", "anger")

# MELD's own mapping for these four labels (surprise, the one ambiguous label, is not used).
SENTIMENT: dict[str, str] = {
    "neutral": "neutral",
    "joy": "positive",
    "sadness": "negative",
    "anger": "negative",
}

# Class prior of a speaker's mood when it is (re)drawn; neutral is the largest class, as in MELD.
EMOTION_PRIOR: dict[str, float] = {"neutral": 0.38, "joy": 0.22, "sadness": 0.18, "anger": 0.22}

# Sentences that give the emotion away. Short on purpose: a clip lasts at most 2.5 s of speech.
REVEALING: dict[str, tuple[str, ...]] = {
    "joy": (
        "I’m so happy for you!",
        "This is the best day ever!",
        "Oh, I love it!",
        "That’s wonderful news!",
        "Yay, we did it!",
        "You made my day!",
        "I can’t stop smiling!",
        "This is so much fun!",
        "Oh, that’s fantastic!",
        "We got the apartment!",
    ),
    "sadness": (
        "I really miss her.",
        "I feel so alone.",
        "Nothing ever works out.",
        "I’m sorry, I just can’t.",
        "She left me.",
        "I just want to cry.",
        "It’s all my fault.",
        "I lost my job today.",
        "Nobody called me back.",
        "He’s never coming back.",
    ),
    "anger": (
        "Get out of my apartment!",
        "How dare you!",
        "Stop lying to me!",
        "That’s it, I’m done!",
        "Don’t touch my stuff!",
        "You ate my sandwich?!",
        "Are you kidding me?!",
        "Leave me alone!",
        "This is so unfair!",
        "You had no right!",
    ),
    # Neutral statements: they reveal "neutral" only weakly, because non-neutral speakers say them too.
    "neutral": (
        "Okay, let’s go then.",
        "So, what time is it?",
        "I’ll be at the coffee house.",
        "Did you get the mail?",
        "It’s on the table.",
        "Sure, why not.",
        "I’m going to the store.",
        "Who’s coming tonight?",
        "Let me get my coat.",
        "Yeah, I know.",
        "Well, here we are.",
        "Is that the new couch?",
        "Pass me the remote.",
        "We need more coffee.",
    ),
}


@dataclass(frozen=True)
class Reliability:
    """How often a channel shows the true emotion's cue, and what it shows otherwise.

    Attributes:
        p_true: probability that the channel is "on": its cue is the utterance's true emotion.
        p_neutral_when_off: when it is off, probability that it shows the neutral cue (it gives nothing
            away: for text an everyday sentence) rather than a misleading cue, a uniformly drawn
            non-neutral emotion other than the true one.
    """

    p_true: float
    p_neutral_when_off: float


# Each channel is drawn independently per utterance, so fusing channels recovers what one channel loses.
RELIABILITY: dict[str, Reliability] = {
    "text": Reliability(p_true=0.45, p_neutral_when_off=0.9),
    "audio": Reliability(p_true=0.5, p_neutral_when_off=0.85),
    "visual": Reliability(p_true=0.45, p_neutral_when_off=0.85),
}
MODALITIES: tuple[str, ...] = tuple(RELIABILITY)


@dataclass(frozen=True)
class VoiceCue:
    """Prosody and voice quality of one emotion.

    Attributes:
        pitch: espeak-ng base pitch (``-p``, 0-99).
        speed: espeak-ng rate (``-s``, words per minute).
        amplitude: espeak-ng amplitude (``-a``).
        word_gap: espeak-ng pause between words (``-g``, 10 ms units).
        pitch_range: SSML ``<prosody range>`` in percent of the voice's own intonation range; unlike the
            base pitch it does not depend on the speaker, so it survives the male/female nuisance.
        tilt: spectral tilt applied after synthesis, -1..1 (positive = tense and bright,
            negative = lax and muffled).
        drive: soft-clipping gain (0 = none), the harshness of a shouted voice.
    """

    pitch: float
    speed: float
    amplitude: float
    word_gap: int
    pitch_range: float
    tilt: float
    drive: float


VOICE_CUES: dict[str, VoiceCue] = {
    "neutral": VoiceCue(pitch=40, speed=165, amplitude=90, word_gap=1, pitch_range=100, tilt=0.0, drive=0.0),
    "joy": VoiceCue(pitch=80, speed=185, amplitude=110, word_gap=0, pitch_range=250, tilt=0.3, drive=0.0),
    "sadness": VoiceCue(pitch=15, speed=125, amplitude=60, word_gap=8, pitch_range=20, tilt=-0.8, drive=0.0),
    "anger": VoiceCue(pitch=50, speed=225, amplitude=130, word_gap=0, pitch_range=150, tilt=0.6, drive=4.0),
}
# Per-utterance jitter (uniform half-widths): classes stay apart; speaker pitch offsets blur them.
VOICE_JITTER = VoiceCue(pitch=8, speed=12, amplitude=10, word_gap=1, pitch_range=15, tilt=0.1, drive=0.5)


@dataclass(frozen=True)
class FaceCue:
    """Image transform for one emotion, applied to the speaker's face photo.

    Attributes:
        gain: per-channel RGB multipliers (a colour tint).
        brightness: added to all channels, on a 0-1 scale.
        contrast: scale of the deviation from the face's mean grey level.
        mouth: mouth-corner lift in pixels of a 150-pixel face (positive = smile, negative = frown).
        head_tilt: in-plane head rotation in degrees, counter-clockwise (body language; unlike a tint,
            a face detector's own features respond to it).
    """

    gain: tuple[float, float, float]
    brightness: float
    contrast: float
    mouth: float
    head_tilt: float


FACE_CUES: dict[str, FaceCue] = {
    "neutral": FaceCue(gain=(1.0, 1.0, 1.0), brightness=0.0, contrast=1.0, mouth=0.0, head_tilt=0.0),
    "joy": FaceCue(gain=(1.2, 1.07, 0.65), brightness=0.15, contrast=1.05, mouth=9.0, head_tilt=10.0),
    "sadness": FaceCue(gain=(0.75, 0.92, 1.3), brightness=-0.07, contrast=0.75, mouth=-8.0, head_tilt=-10.0),
    "anger": FaceCue(gain=(1.35, 0.78, 0.78), brightness=0.0, contrast=1.45, mouth=-3.0, head_tilt=4.0),
}
# Per-utterance cue strength is drawn in [FACE_STRENGTH_MIN, FACE_STRENGTH_MAX]; lighting noise is global.
FACE_STRENGTH_MIN, FACE_STRENGTH_MAX = 0.8, 1.2
FACE_LIGHT_JITTER = 0.04


@dataclass(frozen=True)
class Character:
    """A recurring speaker: a name, an espeak-ng voice with a personal pitch offset, and a face photo.

    Attributes:
        face: ``"astronaut"`` or ``"lfw:<index>"`` into ``skimage.data.lfw_subset()``.
        skin: RGB gain that colours a grey lfw face (identity, a nuisance for the emotion classifier).
    """

    name: str
    voice: str
    pitch_offset: float
    face: str
    skin: tuple[float, float, float]


CHARACTERS: tuple[Character, ...] = (
    Character("Monica", "en-us+f3", 4.0, "astronaut", (1.0, 1.0, 1.0)),
    Character("Rachel", "en-us+f2", 8.0, "lfw:31", (1.0, 0.86, 0.74)),
    Character("Phoebe", "en-us+f4", 0.0, "lfw:46", (0.97, 0.88, 0.80)),
    Character("Ross", "en-us+m3", -6.0, "lfw:2", (0.98, 0.84, 0.72)),
    Character("Chandler", "en-us+m1", 0.0, "lfw:15", (1.0, 0.90, 0.82)),
    Character("Joey", "en-us+m7", -10.0, "lfw:41", (0.92, 0.80, 0.68)),
)

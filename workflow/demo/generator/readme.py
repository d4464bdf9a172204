"""The README written next to the generated corpus: provenance, cue design, counts and licences."""

from __future__ import annotations

import av
import pandas as pd

from .cues import (
    CHARACTERS,
    EMOTION_PRIOR,
    EMOTIONS,
    FACE_CUES,
    FACE_LIGHT_JITTER,
    FACE_STRENGTH_MAX,
    FACE_STRENGTH_MIN,
    RELIABILITY,
    SENTIMENT,
    VOICE_CUES,
    VOICE_JITTER,
)
from .plan import SHORT_HOUR_DIALOGUE, CorpusSpec


def av_version_line() -> str:
    """PyAV and libavcodec versions, as recorded in the README (the H.264/AAC bytes depend on them)."""
    codec = ".".join(map(str, av.library_versions.get("libavcodec", ())))
    return f"PyAV {av.__version__} (libavcodec {codec})"


def corpus_readme(spec: CorpusSpec, table: pd.DataFrame, *, espeak: str) -> str:
    """Markdown describing the corpus in ``table`` (the cue table) made from ``spec``."""
    fates = table[table.fate != "ok"]
    counts = table.groupby(["split", "emotion"]).size().unstack(fill_value=0)
    counts = counts.reindex(index=["train", "dev", "test"], columns=list(EMOTIONS), fill_value=0)
    dialogues = table.groupby("split").dialogue_id.nunique()
    lines = [
        "# Demo corpus in MELD's raw-release layout",
        "",
        "Synthetic, small and committed, so that `make demo` runs the whole pipeline offline in minutes.",
        ("Nothing here is real conversation: every label was drawn by a seeded plan and every clip rendered "
         "from it."),
        "Do not edit by hand; regenerate (needs espeak-ng, `apt-get install espeak-ng`):",
        "",
        "```",
        f"python -m workflow.demo.generator.generate workflow/demo/meld_layout --seed {spec.seed}",
        (
            "python -m workflow.demo.generator.check workflow/demo/meld_layout"
            "   # optional: re-measure demo_check.json"
        ),
        "```",
        "",
        "## Provenance",
        (
            "- Generator: `workflow/demo/generator/` (plan in `plan.py`, design constants in `cues.py`),"
            f" seed {spec.seed}."
        ),
        f"- Speech: `{espeak}`, 22,050 Hz mono, AAC 32 kb/s.",
        f"- Video: {av_version_line()}, libx264 CRF 30, one thread,",
        f"  320x240, {spec.fps} fps, bitexact muxing: the same versions regenerate the corpus byte for byte.",
        "- `demo_cues.csv`: the full plan, one row per utterance: true emotion, the emotion whose cue each",
        "  channel shows (`text_cue`, `audio_cue`, `visual_cue`), voice and face parameters, clip fate.",
        "- `demo_check.json` (written by `check.py`, not by the generator): test accuracy and",
        ("  weighted F1 of a logistic regression per modality and on their concatenation, face detection "
         "rate."),
        "",
        "## Layout and size",
        ("Same files as MELD: `{train,dev,test}_sent_emo.csv` (MELD's eleven columns, CRLF, UTF-8, "
         "typographic"),
        "apostrophes) and clips `dia{Dialogue_ID}_utt{Utterance_ID}.mp4` in `train_splits/`,",
        "`dev_splits_complete/`, `output_repeated_splits_test/`.",
        "",
        "| split | dialogues | " + " | ".join(EMOTIONS) + " | total |",
        "|---|---|" + "---|" * len(EMOTIONS) + "---|",
    ]
    for split, row in counts.iterrows():
        cells = " | ".join(str(int(row[e])) for e in EMOTIONS)
        lines.append(f"| {split} | {int(dialogues.get(split, 0))} | {cells} | {int(row.sum())} |")
    lines += [
        "",
        "Sentiment follows MELD: " + ", ".join(f"{e} -> {s}" for e, s in SENTIMENT.items()) + ".",
        "",
        "## Deliberate faults (train split)",
    ]
    for clip, fate in zip(fates["clip"], fates["fate"]):
        what = "listed in the CSV, no file on disk" if fate == "missing" else "64 random bytes, not an mp4"
        lines.append(f"- `{clip}`: {fate} ({what}).")
    lines += [
        (
            f"- {SHORT_HOUR_DIALOGUE[0]} dialogue {SHORT_HOUR_DIALOGUE[1]} writes its time stamps with a"
            " one-digit hour (`0:05:12,345`), as some MELD rows do."
        ),
        "",
        "## Cue design: partial, complementary evidence",
        "For every utterance and every channel independently, the plan draws whether the channel is on:",
        "it shows the true emotion's cue with probability p_true. When off, it shows the neutral cue (an",
        ("everyday sentence, a plain voice, an untouched face: nothing given away) or, less often, a "
         "misleading"),
        ("cue of another non-neutral emotion. One channel alone misses most emotions it is not on for; "
         "channels"),
        "are on independently, so a model that fuses them recovers much of what each one misses.",
        "",
        "| channel | p_true | P(neutral cue given off) | P(misleading cue given off) |",
        "|---|---|---|---|",
    ]
    for modality, rel in RELIABILITY.items():
        lines.append(
            f"| {modality} | {rel.p_true} | {rel.p_neutral_when_off} | {1 - rel.p_neutral_when_off:.2g} |"
        )
    lines += [
        "",
        ("- Dialogue context: a speaker keeps their previous emotion with probability "
        f"{spec.mood_persistence},"),
         "  else redraws it from the prior " + ", ".join(f"{e} {p}" for e, p in EMOTION_PRIOR.items()) + ".",
         "- Text: short sentences that give away joy, sadness or anger, and neutral everyday ones that",
         "  non-neutral speakers also say (see `REVEALING` in `cues.py`).",
        (
            "- Audio (espeak-ng, then a spectral tilt and soft clipping; jitter ± pitch "
            f"{VOICE_JITTER.pitch:g}, speed {VOICE_JITTER.speed:g}, amplitude {VOICE_JITTER.amplitude:g}, "
            f"gap {VOICE_JITTER.word_gap}, range {VOICE_JITTER.pitch_range:g}%, tilt {VOICE_JITTER.tilt:g}, "
            f"drive {VOICE_JITTER.drive:g}):"
        ),
    ]
    for emotion, v in VOICE_CUES.items():
        lines.append(
            f"  - {emotion}: pitch {v.pitch:g}, speed {v.speed:g} wpm, amplitude {v.amplitude:g},"
            f" word gap {v.word_gap}, pitch range {v.pitch_range:g}%, tilt {v.tilt:+g}, drive {v.drive:g}"
        )
    lines += [
         "  Each speaker has an espeak-ng voice variant and a pitch offset: identity is a nuisance factor.",
        (
            f"- Face (strength drawn in [{FACE_STRENGTH_MIN}, {FACE_STRENGTH_MAX}] per utterance, lighting "
            f"noise ± {FACE_LIGHT_JITTER}):"
        ),
    ]
    for emotion, f in FACE_CUES.items():
        lines.append(
            f"  - {emotion}: RGB gain {f.gain}, brightness {f.brightness:+g}, contrast {f.contrast:g}, "
            f"mouth corners {f.mouth:+g} px, head tilt {f.head_tilt:+g} degrees"
        )
    lines += [
         "  The face sways a few pixels on a two-tone set whose colour is drawn per dialogue.",
         "",
         "## Speakers and licences of the photos",
    ]
    for c in CHARACTERS:
        lines.append(f"- {c.name}: voice `{c.voice}` (pitch offset {c.pitch_offset:+g}), face `{c.face}`.")
    lines += [
         "",
         "- `astronaut`: `skimage.data.astronaut()`, Eileen Collins, NASA photograph, public domain.",
        ("- `lfw:<i>`: `skimage.data.lfw_subset()`, faces from Labeled Faces in the Wild (Huang et al., "
         "2007),"),
        "  distributed with scikit-image for research use; upscaled from 25x25 grey and tinted.",
        "- Speech is synthetic (espeak-ng, GPL-3.0 program; its output is not covered by that licence).",
        "- The names are character names of the sitcom MELD is drawn from; no other material of it is used.",
        "",
    ]
    return "\n".join(lines)

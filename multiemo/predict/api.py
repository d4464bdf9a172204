"""One call from input files to prediction files: what ``multiemo predict`` and the workflow's rule run."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path

from multiemo.conversations.asr import AsrConfig
from multiemo.conversations.diarization import DiarizationConfig
from multiemo.conversations.inputs import from_manifest, from_video
from multiemo.conversations.segmentation import SegmentationConfig
from multiemo.errors import InputError
from multiemo.io import check_output_dir
from multiemo.predict.outputs import PREDICTIONS_FOLDER, write_predictions
from multiemo.predict.predictor import LOW_CONFIDENCE, Predictions, Predictor
from multiemo.predict.trained import TrainedModel
from multiemo.settings import from_mapping

log = logging.getLogger(__name__)


def predict(
    source: str | os.PathLike | TrainedModel,
    out_dir: str | os.PathLike,
    *,
    video: str | os.PathLike | None = None,
    transcript: str | os.PathLike | None = None,
    manifest: str | os.PathLike | None = None,
    device: str = "auto",
    overrides: Mapping[str, Mapping] | None = None,
    segmentation: Mapping | None = None,
    diarization: Mapping | None = None,
    asr: Mapping | None = None,
    window: int = 128,
    context: int = 32,
    low_confidence: float = LOW_CONFIDENCE,
    progress: bool = True,
) -> Predictions:
    """Predict the emotion of every utterance of a video (with or without transcript) or of a manifest.

    Writes ``predictions.csv``, ``predictions.json``, ``timeline.png`` and ``predictions.html`` into
    ``out_dir``. Probabilities are calibrated by the run's ``calibration.json`` when it has one.

    Args:
        source: trained run directory, exported model directory, or a model loaded from either.
        out_dir: where the four files go (created; a non-empty folder holding anything else, or holding an
            input, is refused with :class:`multiemo.io.OutputRefused`).
        video: the conversation's video; ``transcript``: its SRT/WebVTT subtitles (optional).
        manifest: instead of ``video``, a manifest CSV of utterance clips (MANIFEST.md; label/split optional).
        device: ``auto``, ``cpu``, ``cuda``, ``cuda:N``.
        overrides: modality -> {setting: value}; only ``batch_size`` may differ from the run's extraction.
        segmentation: fields of :class:`~multiemo.conversations.segmentation.SegmentationConfig` (no
            transcript).
        diarization: fields of :class:`~multiemo.conversations.diarization.DiarizationConfig` (utterances
            without a speaker name).
        asr: fields of :class:`~multiemo.conversations.asr.AsrConfig` (speech recognition without transcript).
        window, context: model windows over long conversations (:mod:`multiemo.predict.windows`).
        low_confidence: utterances whose top probability is below this are flagged ``low_confidence``.
        progress: show progress bars.

    Raises:
        ValueError, FileNotFoundError: bad inputs or settings, with one message naming the file or setting.
    """
    if (video is None) == (manifest is None):
        raise InputError("give either a video (with an optional transcript) or a manifest CSV")
    if manifest is not None and transcript is not None:
        raise InputError("a manifest carries its own text; give the transcript only with a video")
    blocking = next((p for p in (Path(out_dir), *Path(out_dir).parents) if p.exists()), None)
    if blocking is not None and not blocking.is_dir():  # found now, not after the whole prediction
        raise InputError(f"the output folder {out_dir} cannot be made: {blocking} is a file; choose another "
                         "--out (a new or existing folder)")
    segmentation_config = from_mapping(SegmentationConfig, dict(segmentation or {}), section="segmentation")
    diarization_config = from_mapping(DiarizationConfig, dict(diarization or {}), section="diarization")
    asr_config = from_mapping(AsrConfig, dict(asr or {}), section="asr")
    run = None if isinstance(source, TrainedModel) else source
    check_output_dir(out_dir, PREDICTIONS_FOLDER, inputs=[run, video, transcript, manifest])
    # Load the run first: a wrong run or setting fails before any media is read.
    predictor = Predictor(source, device=device, overrides=overrides, window=window, context=context,
                          low_confidence=low_confidence, progress=progress)
    predictor.require_extraction()  # a model trained on imported features cannot make features
    if video is not None:
        conversation = from_video(video, transcript, segmentation=segmentation_config,
                                  diarization=diarization_config, asr=asr_config,
                                  device=str(predictor.device), progress=progress)
    else:
        conversation = from_manifest(manifest)
    predictions = predictor.predict(conversation)
    paths = write_predictions(out_dir, predictions)
    log.info("wrote %s", ", ".join(str(p) for p in paths.values()))
    return predictions

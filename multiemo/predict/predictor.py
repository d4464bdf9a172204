"""Emotions of new conversations from a trained model: its own extractors, its model, explicit gaps.

The model comes from a run or an exported directory (:mod:`multiemo.predict.trained`). Features are made by
the same extractors as in training (:mod:`multiemo.features.registry`), with the settings recorded at
training (:mod:`multiemo.predict.settings`). They decode each utterance's segment by seeking into the
video, so a long recording is never held in memory; the model then runs in windows of utterances
(:mod:`multiemo.predict.windows`). A modality that is missing for an utterance (no face found, silent or
no audio, no transcript for an extractor that reads text) is marked absent and the model uses its learned
"missing" vector in its place, as in training with ``model.modality_dropout``; every prediction says which
modalities it used.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from multiemo.conversations.asr import AsrConfig
from multiemo.conversations.diarization import DiarizationConfig
from multiemo.conversations.inputs import Conversation, from_video
from multiemo.conversations.segmentation import SegmentationConfig
from multiemo.errors import InputError
from multiemo.features.base import ModalityFeatures
from multiemo.features.registry import Extract, ExtractionContext, extractor
from multiemo.features.registry import modalities as registered_modalities
from multiemo.keys import table_keys
from multiemo.outcomes import OK, StageOutcomes
from multiemo.predict.settings import ExtractionPlan, FeaturesOnly
from multiemo.predict.trained import TrainedModel, from_export, open_trained, resolve_pretrained
from multiemo.predict.windows import classify_windows, window_spans
from multiemo.runs.calibration import check_calibration
from multiemo.runs.checkpoint import resolve_device
from multiemo.runs.precision import autocast
from multiemo.settings import from_mapping

log = logging.getLogger(__name__)

NO_TRANSCRIPT = "no_transcript"
#: Utterances whose (calibrated) top probability is below this are flagged ``low_confidence``.
LOW_CONFIDENCE = 0.5
FROM_RUN = "run"  # Predictor(calibration=...): the run's (or export's) own calibration


@dataclass
class Predictions:
    """What :meth:`Predictor.predict` returns.

    Attributes:
        table: one row per utterance: dialogue_id, utterance_id, start, end, speaker, text, emotion,
            confidence, ``p_{label}`` per label, modalities (e.g. ``"audio+visual"``), ``{m}_present`` and
            ``{m}_status`` per modality the model uses, input_status, speaker_source, speaker_status and
            low_confidence (confidence below the threshold). Probabilities are calibrated when the run has a
            calibration.
        labels: emotion labels in the model's order.
        counts: stage -> status -> number of utterances (input, each modality, party_folded).
        info: run, device, calibration, low_confidence threshold and count, source files and input notes
            (segmentation, encoding, ...).
    """

    table: pd.DataFrame
    labels: list[str]
    counts: dict[str, dict[str, int]]
    info: dict = field(default_factory=dict)


class Predictor:
    """A trained model, ready to classify new conversations.

    Args:
        source: a run directory written by ``multiemo train`` (holds best.pt, settings.json and
            provenance.json; a run older than provenance.json needs its feature store's store.json), an
            exported model directory (``multiemo export``: config.json, model.safetensors), or a
            :class:`~multiemo.predict.trained.TrainedModel` loaded from either.
        device: ``auto`` (CUDA when available), ``cpu``, ``cuda``, ``cuda:N``.
        overrides: modality -> {setting: value}; only the extractor's ``runtime_keys`` (e.g. ``batch_size``)
            may differ from training.
        window, context: utterances per model window and context kept around each window's core.
        calibration: ``"run"`` applies the source's own: a run's ``calibration.json`` or an export's
            ``config.json`` record (a run without one predicts with the raw softmax and says so in
            ``info``); a mapping ``{"method": "temperature", "temperature": T, ...}`` is used as given
            (e.g. from an export); None predicts uncalibrated.
        low_confidence: utterances whose top probability is below this are flagged.
        progress: show progress bars.

    Raises:
        FileNotFoundError: no best.pt, or an old run's store is gone.
        ValueError: the checkpoint or export is refused or incompatible (one line naming the file).
        ProvenanceMismatch: an override, or the extractors available here, would make other features.
    """

    def __init__(
        self,
        source: str | os.PathLike | TrainedModel,
        *,
        device: str = "auto",
        overrides: Mapping[str, Mapping] | None = None,
        window: int = 128,
        context: int = 32,
        calibration: Mapping | str | None = FROM_RUN,
        low_confidence: float = LOW_CONFIDENCE,
        progress: bool = True,
    ) -> None:
        if not 0.0 <= low_confidence <= 1.0:
            raise InputError(f"low_confidence must be a probability in [0, 1], got {low_confidence}")
        self.device = resolve_device(device)
        if isinstance(source, TrainedModel):
            source.model.to(self.device)
            self.trained = source
        else:
            self.trained = open_trained(source, self.device)  # ValueError if unloadable
        self.run_dir: Path = self.trained.source
        self.model = self.trained.model
        self.num_parties: int = self.trained.num_parties
        self.labels: list[str] = list(self.trained.labels)
        self.modalities: tuple[str, ...] = self.trained.modalities
        self.precision: str = self.trained.precision
        try:
            self.plan: ExtractionPlan | None = self.trained.plan(overrides)
            self.features_only: str | None = None
        except FeaturesOnly as err:  # imported features: predict_features works, extraction cannot
            self.plan, self.features_only = None, str(err)
        window_spans(0, window, context)  # reject a bad window/context before any work
        self.window, self.context, self.progress = window, context, progress
        self.modality_dropout = self.trained.modality_dropout
        if calibration == FROM_RUN:
            calibration = self.trained.calibration  # the run's calibration.json or the export's record
        elif calibration is not None:
            calibration = check_calibration(calibration)
        #: the calibration applied to the logits (None: uncalibrated).
        self.calibration: dict | None = calibration
        self.temperature = float(calibration["temperature"]) if calibration else 1.0
        self.low_confidence = float(low_confidence)
        self._extractors: dict[str, Extract] = {}
        self._checked: set[str] = set()
        # Fail before any decoding: each extractor, rebuilt from the recorded settings, must report the
        # recorded provenance. Extractors that read text (a transformer) are loaded and checked only for a
        # conversation with text.
        if self.plan is not None:
            self._check_extractors([m for m in self.modalities if not self._reads_text(m)])

    @classmethod
    def from_pretrained(cls, name_or_path: str | os.PathLike, *, revision: str | None = None,
                        cache_dir: str | os.PathLike | None = None, device: str = "auto",
                        **options) -> Predictor:
        """An exported model from a local directory or a Hugging Face hub repository id (at ``revision``,
        downloaded into ``cache_dir`` or the hub's cache); ``options`` are this class's (``overrides``,
        ``window``, ``context``, ``progress``, ...).

        Raises:
            ExportError: not a directory and not obtainable from the hub, or not an exported model this
                version reads (naming the file).
        """
        directory = resolve_pretrained(name_or_path, revision=revision, cache_dir=cache_dir)
        return cls(from_export(directory, "cpu"), device=device, **options)

    def predict(self, conversation: Conversation) -> Predictions:
        """Features, then emotions, of every utterance of ``conversation`` (table order kept).

        Raises:
            FeaturesOnly: the model was trained on imported features; only :meth:`predict_features` works.
        """
        self.require_extraction()
        table = conversation.table
        if conversation.has_text:
            self._check_extractors([m for m in self.modalities if self._reads_text(m)])
        absent = (conversation.text_status if conversation.text_status and not conversation.has_text
                  else NO_TRANSCRIPT)
        extracted = {m: self._extract(m, table, conversation.has_text, absent=absent)
                     for m in self.modalities}
        probs, folded = self._classify({m: f.values for m, f in extracted.items()},
                                       {m: f.present for m, f in extracted.items()},
                                       table["dialogue_id"].to_numpy(), table["speaker"].to_numpy())
        missing = {m: int((~f.present).sum()) for m, f in extracted.items() if not f.present.all()}
        if missing and self.modality_dropout == 0:
            log.warning("modalities missing for some utterances %s: the run was trained without "
                        "model.modality_dropout, so these predictions may be less reliable "
                        "(see BENCHMARKS.md)", missing)
        if folded:
            log.warning("%d utterances had more speakers in their window than the model's %d parties: they "
                        "share its last party", folded, self.num_parties)
        frame = self._frame(table, probs, extracted, conversation.outcomes)
        # An utterance no modality reached (silence, no face, no text) gets the model's prior, not a finding:
        # it is always flagged and counted, whatever its top probability.
        no_input = (frame["modalities"] == "none").to_numpy()
        if no_input.any():
            log.warning("%d of %d utterances had no input at all (no modality present): their emotion is the "
                        "model's guess from nothing and they are flagged low_confidence",
                        no_input.sum(), len(frame))
        frame["low_confidence"] = (frame["confidence"] < self.low_confidence) | no_input
        if conversation.has_text and conversation.text_status:  # recognised text: say so where it was used
            for m in (m for m in extracted if self._reads_text(m)):
                frame.loc[frame[f"{m}_status"] == OK, f"{m}_status"] = conversation.text_status
                if extracted[m].outcomes is not None:
                    for key, status in list(extracted[m].outcomes.statuses.items()):
                        if status == OK:
                            extracted[m].outcomes.add(key, conversation.text_status)
        counts = {"input": conversation.outcomes.counts()}
        if conversation.speakers is not None:
            counts["speaker"] = conversation.speakers.counts()
        counts.update({m: f.outcomes.counts() for m, f in extracted.items() if f.outcomes is not None})
        counts["party_folded"] = {"utterances": folded}
        counts["no_input"] = {"utterances": int(no_input.sum())}
        info = {
            "run": str(self.run_dir.resolve()),
            "best_epoch": self.trained.best_epoch,
            "store": self.plan.store,
            "modalities": list(self.modalities),
            "modality_dropout": self.modality_dropout,
            "device": str(self.device),
            "window": self.window,
            "context": self.context,
            "calibration": self.calibration or {
                "method": "none",
                "note": "uncalibrated: the model's softmax; the run has no calibration.json (trained before "
                        "calibration or with train.calibration=none), or none was given"},
            "low_confidence": {"threshold": self.low_confidence,
                               "utterances": int(frame["low_confidence"].sum())},
            **conversation.notes,
        }
        return Predictions(table=frame, labels=self.labels, counts=counts, info=info)

    def predict_video(self, video: str | os.PathLike, transcript: str | os.PathLike | None = None, *,
                      segmentation: Mapping | None = None, diarization: Mapping | None = None,
                      asr: Mapping | None = None) -> Predictions:
        """Emotions of every utterance of a video (or audio-only recording), with its SRT/WebVTT subtitles or,
        without, cut by voice activity; speakers a transcript does not name are diarized. ``segmentation``,
        ``diarization``, ``asr``: fields of :class:`~multiemo.conversations.segmentation.SegmentationConfig`,
        :class:`~multiemo.conversations.diarization.DiarizationConfig`,
        :class:`~multiemo.conversations.asr.AsrConfig`."""
        self.require_extraction()  # before any decoding
        conversation = from_video(
            video, transcript,
            segmentation=from_mapping(SegmentationConfig, dict(segmentation or {}), section="segmentation"),
            diarization=from_mapping(DiarizationConfig, dict(diarization or {}), section="diarization"),
            asr=from_mapping(AsrConfig, dict(asr or {}), section="asr"),
            device=str(self.device), progress=self.progress)
        return self.predict(conversation)

    def require_extraction(self) -> ExtractionPlan:
        """The extraction plan; FeaturesOnly (one message) for a model trained on imported features."""
        if self.plan is None:
            raise FeaturesOnly(f"{self.run_dir} predicts from features only (predict_features): video "
                               f"prediction is not available. {self.features_only}")
        return self.plan

    def predict_features(
        self,
        features: Mapping[str, np.ndarray],
        dialogue_ids: np.ndarray,
        speakers: np.ndarray,
        present: Mapping[str, np.ndarray] | None = None,
    ) -> np.ndarray:
        """(N, C) class probabilities (columns in :attr:`labels` order) of utterances whose features are
        already made (as by the extractors this model records; raw values, not standardised).

        Args:
            features: modality -> (N, D_m) for every modality of :attr:`modalities`.
            dialogue_ids, speakers: (N,) each; rows of one dialogue contiguous and in order.
            present: modality -> (N,) bool, False where that modality is missing (default: all present).
        """
        missing = [m for m in self.modalities if m not in features]
        if missing:
            raise InputError(f"features lack the modalities {missing}; "
                             f"this model uses {list(self.modalities)}")
        n = len(dialogue_ids)
        values = {m: np.asarray(features[m], np.float32) for m in self.modalities}
        for m, v in values.items():
            if v.shape != (n, self.model.input_dims[m]):
                raise InputError(f"{m} features have shape {v.shape}, "
                                 f"expected ({n}, {self.model.input_dims[m]})")
        shown = {m: np.ones(n, bool) if present is None or m not in present else np.asarray(present[m], bool)
                 for m in self.modalities}
        return self._classify(values, shown, np.asarray(dialogue_ids), np.asarray(speakers))[0]

    def _classify(self, values: Mapping[str, np.ndarray], present: Mapping[str, np.ndarray],
                  dialogue_ids: np.ndarray, speakers: np.ndarray) -> tuple[np.ndarray, int]:
        with autocast(self.precision, self.device):
            return classify_windows(self.model, values, present, dialogue_ids, speakers,
                                    num_parties=self.num_parties, window=self.window, context=self.context,
                                    temperature=self.temperature, progress=self.progress)

    def _check_extractors(self, modalities: list[str]) -> None:
        # One utterance without media: audio and visual build their extractor and skip it (no_media),
        # text encodes one short sentence.
        probe = pd.DataFrame({"dialogue_id": ["probe"], "utterance_id": ["0"], "speaker": ["A"],
                              "text": ["ok"], "media": [""], "start": [np.nan], "end": [np.nan],
                              "face_side": [""]})
        quiet = logging.getLogger("multiemo.features")
        level = quiet.level
        quiet.setLevel(logging.WARNING)  # the probe's "1 no_media" summaries would only confuse
        try:
            for modality in [m for m in modalities if m not in self._checked]:
                self.plan.check(modality, self._extract(modality, probe, True, progress=False).provenance)
                self._checked.add(modality)
        finally:
            quiet.setLevel(level)

    def _extract(self, modality: str, table: pd.DataFrame, has_text: bool, *, progress: bool | None = None,
                 absent: str = NO_TRANSCRIPT) -> ModalityFeatures:
        if self._reads_text(modality) and not has_text:
            return _absent_text(table, modality, self.plan.recorded[modality], absent)
        if modality not in self._extractors:
            context = ExtractionContext(device=str(self.device))
            self._extractors[modality] = extractor(modality).make(self.plan.settings[modality], context)
        return self._extractors[modality](table, progress=self.progress if progress is None else progress)

    @staticmethod
    def _reads_text(modality: str) -> bool:
        return extractor(modality).reads == "text"

    def _frame(self, table: pd.DataFrame, probs: np.ndarray, extracted: Mapping[str, ModalityFeatures],
               inputs: StageOutcomes) -> pd.DataFrame:
        keys = table_keys(table)
        order = [m for m in registered_modalities() if m in extracted]
        frame = pd.DataFrame({
            "dialogue_id": table["dialogue_id"].to_numpy(),
            "utterance_id": table["utterance_id"].to_numpy(),
            "start": table["start"].to_numpy(dtype=float),
            "end": table["end"].to_numpy(dtype=float),
            "speaker": table["speaker"].to_numpy(),
            "text": table["text"].to_numpy(),
            "emotion": [self.labels[i] for i in probs.argmax(1)],
            "confidence": probs.max(1).round(6),
        })
        for i, label in enumerate(self.labels):
            frame[f"p_{label}"] = probs[:, i].round(6)
        used = np.stack([extracted[m].present for m in order], axis=1)  # (N, M)
        frame["modalities"] = ["+".join(m for m, u in zip(order, row) if u) or "none" for row in used]
        for m in order:
            frame[f"{m}_present"] = extracted[m].present
            statuses = extracted[m].outcomes.statuses if extracted[m].outcomes is not None else {}
            frame[f"{m}_status"] = [statuses.get(k, OK) for k in keys]
        frame["input_status"] = [inputs.statuses.get(k, OK) for k in keys]
        # Where each speaker name comes from (transcript, diarization, none) and its fallback, if any.
        frame["speaker_source"] = table["speaker_source"].to_numpy() if "speaker_source" in table else "input"
        frame["speaker_status"] = table["speaker_status"].to_numpy() if "speaker_status" in table else OK
        return frame


def _absent_text(table: pd.DataFrame, modality: str, provenance: dict, status: str = NO_TRANSCRIPT
                 ) -> ModalityFeatures:
    """Features of a text-reading modality for a conversation without transcript: all missing, counted
    as ``status`` (``no_transcript``, or ``asr_unavailable``); ``provenance["dim"]`` gives their size."""
    keys = table_keys(table)
    dim = int(provenance["dim"])
    outcomes = StageOutcomes(stage=modality)
    for key in keys:
        outcomes.add(key, status, "no transcript was given" if status == NO_TRANSCRIPT
                     else "speech recognition was asked for but its model cannot be loaded")
    return ModalityFeatures(keys=keys, values=np.zeros((len(keys), dim), np.float32),
                            present=np.zeros(len(keys), bool), provenance=provenance, outcomes=outcomes)

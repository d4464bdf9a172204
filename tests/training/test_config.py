import pytest

from multiemo.settings import ConfigError, from_mapping, load_yaml, parse_overrides
from multiemo.training.config import TrainConfig, resolve_run_settings
from tests.conftest import REPO


def test_overrides_are_typed():
    assert parse_overrides(["model.fusion=false", "train.lr=1e-3", "train.epochs=3"]) == {
        "model": {"fusion": False}, "train": {"lr": "1e-3", "epochs": 3}
    }
    cfg = from_mapping(TrainConfig, {"lr": "1e-3", "epochs": "3", "class_weighted_ce": "false"}, section="train")
    assert cfg.lr == pytest.approx(1e-3) and cfg.epochs == 3 and cfg.class_weighted_ce is False


def test_bad_values_name_the_setting():
    with pytest.raises(ConfigError, match="train.class_weighted_ce must be true or false"):
        from_mapping(TrainConfig, {"class_weighted_ce": "maybe"}, section="train")
    with pytest.raises(ConfigError, match=r"unknown train setting\(s\) \['epoch'\]"):
        from_mapping(TrainConfig, {"epoch": 3}, section="train")
    with pytest.raises(ConfigError, match="train.epochs must be a whole number"):
        from_mapping(TrainConfig, {"epochs": 2.5}, section="train")
    with pytest.raises(ConfigError, match="train.lr must be positive"):
        TrainConfig(lr=0)
    with pytest.raises(ConfigError, match="section.key=value"):
        parse_overrides(["epochs"])


def test_repo_config_has_the_paper_presets():
    config = load_yaml(REPO / "config.yaml")
    meld = resolve_run_settings(config, "meld")
    iemocap = resolve_run_settings(config, "iemocap", ["train.epochs=2"])
    assert meld["train"]["batch_size"] == 100 and meld["model"]["num_layers"] == 2
    assert (meld["train"]["swfc_weight"], meld["train"]["hgr_weight"], meld["train"]["ce_weight"]) == (0.3, 0.3, 0.4)
    assert iemocap["model"]["bidirectional"] is True and iemocap["model"]["num_layers"] == 6
    assert iemocap["train"]["epochs"] == 2
    for preset in ("meld", "iemocap"):
        from_mapping(TrainConfig, resolve_run_settings(config, preset)["train"], section="train")
    with pytest.raises(ConfigError, match="unknown dataset 'nope'"):
        resolve_run_settings(config, "nope")


def test_missing_or_malformed_config_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_yaml(tmp_path / "none.yaml")
    (tmp_path / "bad.yaml").write_text("a: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_yaml(tmp_path / "bad.yaml")


def test_a_dataset_block_overrides_only_its_own_keys():
    """The issue-16 cases: partial dataset blocks change what they name and nothing else."""
    config = load_yaml(REPO / "config.yaml")
    iemocap = resolve_run_settings(config, "iemocap")
    config["datasets"]["mine"] = {"reader": "manifest", "modalities": ["text"], "preset": "iemocap",
                                  "train": {"lr": 1.0e-3, "epochs": 30}, "model": {"dropout": 0.2}}
    mine = resolve_run_settings(config, "mine")
    assert mine["train"] == {**iemocap["train"], "lr": 1.0e-3, "epochs": 30}
    assert mine["train"]["batch_size"] == 64 and mine["train"]["precision"] == "auto"
    assert mine["model"] == {**iemocap["model"], "dropout": 0.2, "modalities": ["text"], "context_modalities": ["text"]}
    assert mine["model"]["num_layers"] == 6 and mine["model"]["bidirectional"] is True


def test_resolution_is_complete_and_refuses_bad_values_naming_the_key():
    config = load_yaml(REPO / "config.yaml")
    meld = resolve_run_settings(config, "meld")
    assert set(meld["train"]) == {f for f in TrainConfig.__dataclass_fields__}
    assert meld["model"]["context_modalities"] == ["audio", "visual"]
    assert resolve_run_settings(config, "meld", ["model.modalities=[text]"])["model"]["context_modalities"] == []
    with pytest.raises(ConfigError, match="num_layers"):
        resolve_run_settings(config, "meld", ["model.num_layers=0"])
    with pytest.raises(ConfigError, match="dropout"):
        resolve_run_settings(config, "meld", ["model.dropout=1"])
    with pytest.raises(ConfigError, match=r"unknown model setting\(s\) \['fusionn'\]"):
        resolve_run_settings(config, "meld", ["model.fusionn=false"])
    with pytest.raises(ConfigError, match="lr_patience"):
        resolve_run_settings(config, "meld", ["train.lr_patience=-1"])

import pytest

from multiemo.settings import ConfigError, from_mapping, load_yaml, parse_overrides
from multiemo.training.config import TrainConfig, resolve_run_settings
from tests.conftest import REPO


def test_overrides_are_typed():
    assert parse_overrides(["model.fusion=false", "train.lr=1e-3", "train.epochs=3"]) == {
        "model": {"fusion": False}, "train": {"lr": "1e-3", "epochs": 3}
    }
    cfg = from_mapping(TrainConfig, {"lr": "1e-3", "epochs": "3", "class_weighted_ce": "false"},
                       section="train")
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
    assert (meld["train"]["swfc_weight"], meld["train"]["hgr_weight"],
            meld["train"]["ce_weight"]) == (0.3, 0.3, 0.4)
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
    assert mine["model"] == {**iemocap["model"], "dropout": 0.2, "modalities": ["text"],
                             "context_modalities": ["text"]}
    assert mine["model"]["num_layers"] == 6 and mine["model"]["bidirectional"] is True


def test_resolution_is_complete_and_refuses_bad_values_naming_the_key():
    config = load_yaml(REPO / "config.yaml")
    meld = resolve_run_settings(config, "meld")
    # every field, the loss weights as runs have always recorded them (settings.json): one <loss>_weight each
    assert set(meld["train"]) == set(TrainConfig.__dataclass_fields__) - {"losses"} | {
        "ce_weight", "swfc_weight", "hgr_weight"}
    assert meld["model"]["context_modalities"] == ["audio", "visual"]
    text_only = resolve_run_settings(config, "meld", ["model.modalities=[text]"])
    assert text_only["model"]["context_modalities"] == []
    with pytest.raises(ConfigError, match="num_layers"):
        resolve_run_settings(config, "meld", ["model.num_layers=0"])
    with pytest.raises(ConfigError, match="dropout"):
        resolve_run_settings(config, "meld", ["model.dropout=1"])
    with pytest.raises(ConfigError, match=r"unknown model setting\(s\) \['fusionn'\]"):
        resolve_run_settings(config, "meld", ["model.fusionn=false"])
    with pytest.raises(ConfigError, match="lr_patience"):
        resolve_run_settings(config, "meld", ["train.lr_patience=-1"])


def test_losses_are_one_setting_and_the_old_keys_still_read_with_one_warning(caplog):
    """train.losses: {name: weight}; the old train.<loss>_weight keys mean the same, warn once, and resolve to
    the same settings; runs record the weights as <loss>_weight where they always stood (settings.json)."""
    import multiemo.training.config as config_module

    config = load_yaml(REPO / "config.yaml")
    new = resolve_run_settings(config, "iemocap", ["train.losses.hgr=0.5", "train.losses.ce=1"])
    config_module._warned.clear()
    with caplog.at_level("WARNING", logger="multiemo.training.config"):
        old = resolve_run_settings(config, "iemocap", ["train.hgr_weight=0.5", "train.ce_weight=1"])
        resolve_run_settings(config, "iemocap", ["train.hgr_weight=0.5"])
    assert old == new
    train = list(new["train"])
    assert train[train.index("lr_patience") + 1:train.index("swfc_temperature")] == [
        "ce_weight", "swfc_weight", "hgr_weight"]
    assert (new["train"]["ce_weight"], new["train"]["swfc_weight"],
            new["train"]["hgr_weight"]) == (1.0, 0.4, 0.5)
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 2
    assert "train.hgr_weight is deprecated: write train.losses: {hgr: 0.5}" in warnings[0]
    # a run's record reads back as the same settings
    assert from_mapping(TrainConfig, new["train"], section="train").losses == {
        "ce": 1.0, "swfc": 0.4, "hgr": 0.5}
    with pytest.raises(ConfigError,
                       match=r"unknown loss 'focal' \(train.losses\); known: \['ce', 'swfc', 'hgr'\]"):
        resolve_run_settings(config, "meld", ["train.losses.focal=0.1"])
    with pytest.raises(ConfigError, match=r"train.losses.swfc must be a finite number >= 0, got -1"):
        resolve_run_settings(config, "meld", ["train.losses.swfc=-1"])
    with pytest.raises(ConfigError, match="at least one weight must be positive"):
        resolve_run_settings(config, "meld", ["train.losses={ce: 0, swfc: 0, hgr: 0}"])
    with pytest.raises(ConfigError,
                       match=r"train.ce_weight \(0.5\) and train.losses.ce \(0.2\) are one setting"):
        resolve_run_settings({"presets": {"p": {"train": {"ce_weight": 0.5, "losses": {"ce": 0.2}}}}}, "p")

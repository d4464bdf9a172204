"""One source of truth for settings: the schema is held equal to the config dataclasses, presets state only
what differs from the defaults, validation fills nothing into a user's blocks, and the workflow trains every
job with the settings `multiemo train` resolves for it."""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import shutil
import typing
from collections.abc import Mapping
from pathlib import Path

import jsonschema
import pytest
import yaml
from snakemake.api import SnakemakeApi
from snakemake.settings.types import (
    ConfigSettings,
    DAGSettings,
    OutputSettings,
    Quietness,
    ResourceSettings,
    StorageSettings,
)

from multiemo.cli import build_parser
from multiemo.conversations.asr import AsrConfig
from multiemo.conversations.diarization import DiarizationConfig
from multiemo.conversations.segmentation import SegmentationConfig
from multiemo.corpora.manifest import read_manifest
from multiemo.features.faces import DetectionConfig
from multiemo.features.registry import extractor
from multiemo.features.registry import modalities as registered_modalities
from multiemo.features.text_finetune import finetune_text_encoder
from multiemo.models.config import ModelConfig
from multiemo.predict import predict
from multiemo.schema import open_schema
from multiemo.settings import fill_defaults, load_yaml
from multiemo.training.config import TrackingConfig, TrainConfig, presets_of, resolve_run_settings
from tests.conftest import REPO
from tests.workflow.conftest import snakemake

SCHEMA = open_schema(load_yaml(REPO / "workflow" / "schemas" / "config.schema.yaml"))  # as the Snakefile
DEFINITIONS = SCHEMA["definitions"]
# Schema block -> the dataclass that consumes it; nested dataclass fields are checked as their own block.
BLOCKS = {"model": (DEFINITIONS["model"], ModelConfig), "train": (DEFINITIONS["train"], TrainConfig)}
for _modality in ("audio", "visual", "text"):  # the built-in extractors (plugins bring their own dataclass)
    BLOCKS[_modality] = (DEFINITIONS[_modality], extractor(_modality).settings_class())
BLOCKS["visual.detection"] = (DEFINITIONS["visual"]["properties"]["detection"], DetectionConfig)
BLOCKS["train.tracking"] = (DEFINITIONS["train"]["properties"]["tracking"], TrackingConfig)
_PREDICT = SCHEMA["properties"]["predict"]["properties"]
BLOCKS["predict.segmentation"] = (_PREDICT["segmentation"], SegmentationConfig)
BLOCKS["predict.diarization"] = (_PREDICT["diarization"], DiarizationConfig)
BLOCKS["predict.asr"] = (_PREDICT["asr"], AsrConfig)
# Probing one bound at a time must not trip a check that ties two fields together.
COMPANIONS = {"model_dim": {"num_heads": 1}, "num_heads": {"model_dim": 2**20},
              "min_speech": {"max_utterance": 2**30}, "max_utterance": {"min_speech": 1e-12}}


def _default(field: dataclasses.Field):
    value = field.default_factory() if field.default_factory is not dataclasses.MISSING else field.default
    return list(value) if isinstance(value, tuple) else value


def _accepts(cls: type, name: str, value) -> bool:
    try:
        cls(**{**COMPANIONS.get(name, {}), name: value})
    except (ValueError, TypeError):
        return False
    return True


def _probes(prop: Mapping, integer: bool) -> list:
    """Values on both sides of every numeric bound the schema states, and far values where it states none."""
    step = 1 if integer else 1e-6
    probes = []
    for key, sign in (("minimum", -1), ("exclusiveMinimum", 1), ("maximum", 1), ("exclusiveMaximum", -1)):
        if key in prop:
            probes += [prop[key], prop[key] + sign * step, prop[key] - sign * step]
    if "minimum" not in prop and "exclusiveMinimum" not in prop:
        probes.append(-(2**20))
    if "maximum" not in prop and "exclusiveMaximum" not in prop:
        probes.append(2**20)
    return probes


@pytest.mark.parametrize("block", BLOCKS)
def test_schema_keys_and_defaults_are_the_dataclass(block):
    schema, cls = BLOCKS[block]
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if not dataclasses.is_dataclass(hints[f.name])}
    nested = {f.name for f in dataclasses.fields(cls)} - set(fields)
    stage_only = set(extractor(block).stage_keys) if block in registered_modalities() else set()
    deprecated = {name for name, prop in schema["properties"].items() if prop.get("deprecated")}
    assert set(schema["properties"]) - nested - stage_only - deprecated == set(fields)
    for name, field in fields.items():
        assert schema["properties"][name]["default"] == _default(field), f"{block}.{name}"


@pytest.mark.parametrize("block", BLOCKS)
def test_schema_bounds_and_choices_are_the_dataclass(block):
    """The schema refuses a value exactly when the dataclass does (probed at every bound and choice)."""
    schema, cls = BLOCKS[block]
    hints = typing.get_type_hints(cls)
    for name, prop in schema["properties"].items():
        if prop.get("deprecated"):
            continue  # an old spelling of another setting (train.<loss>_weight), probed there
        types = prop.get("type")
        types = [types] if isinstance(types, str) else types or []
        if "integer" in types or "number" in types:
            probes = _probes(prop, "integer" in types)
        elif "string" in types:
            probes = [*prop.get("enum", []), "no-such-choice"]
        else:
            continue  # booleans, lists and nested blocks: their types are the schema's own checks
        if "null" in types:
            probes.append(None)
        for value in probes:
            if hints[name] is int and isinstance(value, float):
                continue
            schema_ok = jsonschema.Draft202012Validator(prop).is_valid(value)
            assert schema_ok == _accepts(cls, name, value), \
                f"{block}.{name}={value!r}: schema says {schema_ok}"


def test_text_finetune_schema_defaults_are_the_finetuners():
    """The text block's finetune settings configure the fine-tuning rule, not the extractor's dataclass."""
    assert "finetune" in extractor("text").stage_keys
    tune = inspect.signature(finetune_text_encoder).parameters
    for name, prop in DEFINITIONS["text"]["properties"]["finetune"]["properties"].items():
        if name != "enabled":
            assert prop["default"] == tune[name].default, f"text.finetune.{name}"


def test_global_extraction_settings_are_the_schema_defaults():
    """config.yaml spells out the global extraction settings for users to edit; they are the defaults."""

    def check(stated: Mapping, schema: Mapping, where: str) -> None:
        for key, value in stated.items():
            prop = schema["properties"][key]
            prop = DEFINITIONS[prop["$ref"].split("/")[-1]] if "$ref" in prop else prop
            if isinstance(value, dict):
                check(value, prop, f"{where}.{key}")
            else:
                assert value == prop["default"], f"{where}.{key}"

    check(load_yaml(REPO / "config.yaml")["extraction"], SCHEMA["properties"]["extraction"], "extraction")


def test_predict_settings_defaults_are_the_predict_functions():
    """The predict block's window, context and low_confidence defaults are predict()'s; config.yaml
    states them."""
    defaults = inspect.signature(predict).parameters
    stated = load_yaml(REPO / "config.yaml")["predict"]
    for name in ("window", "context", "low_confidence"):
        prop = SCHEMA["properties"]["predict"]["properties"][name]
        assert prop["default"] == defaults[name].default == stated[name], f"predict.{name}"
    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert f"default {defaults['low_confidence'].default}" in commands.choices["predict"].format_help()


def test_presets_state_only_what_differs_from_the_defaults():
    presets = presets_of(load_yaml(REPO / "config.yaml"))
    assert {"meld", "iemocap", "small_corpus"} <= set(presets)
    preset_schema = SCHEMA["properties"]["presets"]["additionalProperties"]
    for name, preset in presets.items():  # the packaged files are checked as a config's presets would be
        jsonschema.Draft202012Validator({**preset_schema, "definitions": DEFINITIONS}).validate(preset)
    defaults = {"model": ModelConfig, "train": TrainConfig}
    for name, preset in presets.items():
        for section, values in (preset or {}).items():
            fields = {f.name: f for f in dataclasses.fields(defaults[section])}
            for key, value in values.items():
                assert value != _default(fields[key]), f"presets.{name}.{section}.{key} restates the default"


def test_defaults_fill_top_level_settings_never_a_users_blocks():
    config = {
        "datasets": {"d": {"reader": "meld", "train": {"lr": 1e-3}, "model": {"dropout": 0.2},
                           "extraction": {"text": {"past": 0}}}},
        "presets": {"p": {"train": {"epochs": 3}}},
        "variants": {"v": []},
        "extraction": {"text": {"model": "roberta-base"}},
    }
    fill_defaults(config, SCHEMA)
    assert config["datasets"]["d"] == {"reader": "meld", "train": {"lr": 1e-3}, "model": {"dropout": 0.2},
                                       "extraction": {"text": {"past": 0}}}
    assert config["presets"] == {"p": {"train": {"epochs": 3}}} and config["variants"] == {"v": []}
    assert config["extraction"]["text"]["model"] == "roberta-base"  # stated: kept
    assert config["extraction"]["text"]["past"] == 2 and config["extraction"]["audio"]["sample_rate"] == 16000
    assert config["extraction"]["visual"]["detection"]["crop_size"] == 160
    assert config["default_variants"] == ["full"] and config["results"] == "results"


def _workflow_jobs(workdir: Path, targets: list[str]) -> list:
    """The jobs the real workflow plans for ``targets`` with ``workdir/config.yaml`` (a dry DAG, nothing
    runs).

    Built through Snakemake's API, so every job's ``params`` are what the rules hand to their scripts.
    Planning reads each dataset's corpus (rules/common.smk) and the config's datasets have no data here:
    these tests are about settings, so every dataset reads a one-utterance stand-in and declares no
    annotation file.
    """
    stand_in = workdir / "stand_in.csv"
    stand_in.write_text("dialogue_id,utterance_id,speaker,text,label,split\na,0,X,hi,joy,train\n",
                        encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch, SnakemakeApi(OutputSettings(quiet={Quietness.ALL})) as api:
        patch.setattr("multiemo.pipeline.load_corpus", lambda entry: read_manifest(stand_in))
        patch.setattr("multiemo.corpora.registry.corpus_sources", lambda entry: [])
        workflow_api = api.workflow(
            resource_settings=ResourceSettings(cores=1),
            config_settings=ConfigSettings(configfiles=[workdir / "config.yaml"]),
            storage_settings=StorageSettings(),
            snakefile=REPO / "workflow" / "Snakefile",
            workdir=workdir,
        )
        dag_api = workflow_api.dag(DAGSettings(targets=set(targets), forceall=True))
        # Snakemake's public API has no "give me the jobs"; its own summary/list_changes do exactly this.
        workflow = dag_api.workflow_api._workflow
        workflow._prepare_dag(forceall=True, ignore_incomplete=True, lock_warn_only=True)
        workflow._build_dag()
        return list(workflow.dag.jobs)


def _cli_settings(config_path: Path, ds: str, overrides: list[str]) -> dict:
    """What `multiemo train --config ... --dataset ds overrides...` trains with (its own parser and
    resolution)."""
    args = build_parser().parse_args(["train", "--config", str(config_path), "--dataset", ds,
                                      "--features", "store", "--out", "run", *overrides])
    return resolve_run_settings(load_yaml(args.config), args.dataset, args.overrides)  # as multiemo.cli


def _check_every_train_job(workdir: Path) -> dict:
    config = load_yaml(workdir / "config.yaml")
    variants = config["variants"]
    results = config.get("results", "results")
    expected = {}
    for ds, entry in config["datasets"].items():
        for variant in entry.get("variants", config.get("default_variants", ["full"])):
            for seed in entry.get("seeds", config["seeds"]):
                overrides = [*variants[variant], f"train.seed={seed}"]
                expected[(ds, variant, str(seed))] = _cli_settings(workdir / "config.yaml", ds, overrides)
    targets = [f"{results}/{ds}/runs/{v}/seed_{s}/metrics.json" for ds, v, s in expected]
    jobs = _workflow_jobs(workdir, targets)
    planned = {(j.wildcards_dict["ds"], j.wildcards_dict["variant"], j.wildcards_dict["seed"]):
               j.params.settings
               for j in jobs if j.rule.name == "train"}
    assert planned.keys() == expected.keys()
    for key, settings in planned.items():
        assert settings == expected[key], key
    return {"planned": planned, "jobs": jobs}


def test_workflow_trains_every_job_of_config_yaml_as_multiemo_train_does(tmp_path):
    shutil.copy(REPO / "config.yaml", tmp_path / "config.yaml")
    planned = _check_every_train_job(tmp_path)["planned"]
    config = load_yaml(REPO / "config.yaml")
    runs = sum(len(e.get("variants", config["default_variants"])) * len(e.get("seeds", config["seeds"]))
               for e in config["datasets"].values())
    assert len(planned) == runs
    # The paper's IEMOCAP settings reach its jobs: the preset, not MELD's defaults.
    iemocap = planned[("iemocap", "full", "1")]
    assert iemocap["train"]["batch_size"] == 64 and iemocap["model"]["num_layers"] == 6


def test_partial_dataset_blocks_train_as_stated_in_the_workflow(tmp_path):
    """The issue-16 cases: a preset plus partial blocks, a one-key model block, a text-only dataset, and a
    dataset's extraction block under a changed global text model."""
    config = load_yaml(REPO / "config.yaml")
    config["extraction"]["text"]["model"] = "roberta-base"
    corpus = {"reader": "manifest", "manifest": "corpus.csv", "seeds": [1, 2]}
    config["datasets"] = {
        "iemo": {**corpus, "preset": "iemocap", "train": {"lr": 1.0e-3, "epochs": 30}},
        "drop": {**corpus, "preset": "iemocap", "modalities": ["text"], "model": {"dropout": 0.2},
                 "variants": ["full", "no_context"], "extraction": {"text": {"past": 0}}},
    }
    config["dataset"] = "iemo"
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    (tmp_path / "corpus.csv").write_text("path\n")
    checked = _check_every_train_job(tmp_path)
    planned = checked["planned"]
    iemocap = _cli_settings(REPO / "config.yaml", "iemocap", ["train.seed=2"])
    assert planned[("iemo", "full", "2")] == {"model": iemocap["model"],
                                              "train": {**iemocap["train"], "lr": 1.0e-3, "epochs": 30}}
    drop = planned[("drop", "full", "1")]
    assert drop["model"] == {**iemocap["model"], "dropout": 0.2, "modalities": ["text"],
                             "context_modalities": ["text"]}
    assert planned[("drop", "no_context", "1")]["model"]["context_modalities"] == []
    texts = [j.params.settings for j in checked["jobs"] if j.rule.name == "text_features"]
    assert texts and all(t["model"] == "roberta-base" for t in texts)
    assert sorted(t["past"] for t in texts) == [0, 2]  # drop's own block, iemo the global one


@pytest.mark.parametrize(
    ("variant", "key"),
    [(["model.fusionn=false"], "fusionn"), (["model.num_layers=0"], "num_layers"),
     (["train.dropout=0.1"], "dropout"),
     # not key=value: the schema's pattern, on ['variants']['broken']
     (["epochs"], "'epochs' does not match")],
)
def test_a_bad_variant_fails_the_dry_run_naming_variant_and_key(tmp_path, variant, key):
    config = load_yaml(REPO / "config.yaml")
    config["variants"]["broken"] = variant  # trained by no dataset: checked all the same
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    proc = snakemake(tmp_path, "--dry-run", check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert ("variant 'broken'" in output or "['variants']['broken']" in output) and key in output, \
        output[-3000:]
    assert "Job stats" not in output


@pytest.mark.parametrize(("block", "value"), [("model", {"num_layers": 0}), ("model", {"dropout": 1}),
                                              ("train", {"lr_patience": -1})])
def test_a_bad_dataset_setting_is_refused_at_config_load(tmp_path, block, value):
    config = load_yaml(REPO / "config.yaml")
    config["datasets"]["demo"][block] = {**config["datasets"]["demo"].get(block, {}), **value}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    proc = snakemake(tmp_path, "--dry-run", check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0 and next(iter(value)) in output and "Job stats" not in output


def test_an_unknown_default_dataset_is_one_message_naming_the_known_ones(tmp_path):
    config = load_yaml(REPO / "config.yaml")
    config["dataset"] = "meld_typo"
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    proc = snakemake(tmp_path, "--dry-run", check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "Job stats" not in output
    assert "dataset 'meld_typo'" in output, output[-3000:]
    assert ("known datasets: custom, demo, emorynlp_text, emorynlp_text_ft, iemocap, meld"
            in output), output[-3000:]
    assert "MissingInputException" not in output
